#include "ledger/invoicing.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <tuple>

namespace billing::ledger {
namespace {

using domain::InvoiceDraft;
using domain::InvoiceInput;
using domain::MembershipSpan;
using domain::Money;
using domain::UsageCharge;

bool byStart(const Interval& a, const Interval& b) {
  return std::tie(a.start, a.end) < std::tie(b.start, b.end);
}

std::vector<Interval> merged(std::vector<Interval> intervals) {
  std::sort(intervals.begin(), intervals.end(), byStart);
  std::vector<Interval> out;
  for (const Interval& interval : intervals) {
    if (interval.empty()) continue;
    if (!out.empty() && interval.start <= out.back().end) {
      out.back().end = std::max(out.back().end, interval.end);
    } else {
      out.push_back(interval);
    }
  }
  return out;
}

UsageCharge usageOf(const Charge& charge, const domain::Currency& currency) {
  return UsageCharge{charge.id,
                     charge.project,
                     charge.service,
                     charge.description,
                     charge.quantity,
                     charge.unit,
                     Money{charge.amountMinor, currency},
                     charge.period};
}

// A line of the assembly pass is fed back to computeInvoice as a charge of its own; its id keeps
// the real charge id first so that the domain's line order (project, start, charge id) holds.
constexpr char kPseudoSeparator = '\x1f';

std::string pseudoId(const std::string& chargeId, std::size_t index) {
  std::string digits = std::to_string(index);
  return chargeId + kPseudoSeparator +
         std::string(12 - std::min<std::size_t>(12, digits.size()), '0') + digits;
}

std::size_t pseudoIndex(std::string_view id) {
  const auto at = id.rfind(kPseudoSeparator);
  std::size_t index = 0;
  if (at != std::string_view::npos) {
    std::from_chars(id.data() + at + 1, id.data() + id.size(), index);
  }
  return index;
}

struct CollectedLine {
  domain::InvoiceLine line;
  bool correction = false;
};

}  // namespace

std::vector<Interval> subtractIntervals(std::vector<Interval> from,
                                        const std::vector<Interval>& remove) {
  const std::vector<Interval> cuts = merged(remove);
  std::vector<Interval> out;
  for (const Interval& interval : merged(std::move(from))) {
    Timestamp cursor = interval.start;
    for (const Interval& cut : cuts) {
      if (cut.end <= cursor) continue;
      if (cut.start >= interval.end) break;
      if (cut.start > cursor) out.push_back(Interval{cursor, cut.start});
      cursor = std::max(cursor, cut.end);
      if (cursor >= interval.end) break;
    }
    if (cursor < interval.end) out.push_back(Interval{cursor, interval.end});
  }
  return out;
}

std::optional<Interval> firstUncoveredStretch(const std::vector<Membership>& memberships,
                                              const Interval& period) {
  std::vector<Interval> covered;
  for (const Membership& membership : memberships) {
    if (!membership.empty()) covered.push_back(membership.interval());
  }
  const std::vector<Interval> gaps = subtractIntervals({period}, covered);
  if (gaps.empty()) return std::nullopt;
  return gaps.front();
}

Result<Billing> computeBilling(const BillingInput& input) {
  const domain::Currency& currency = input.currency;
  const Money zero{0, currency};

  std::vector<MembershipSpan> spans;
  std::map<std::string, std::vector<Interval>> spansByProject;
  for (const Membership& membership : input.memberships) {
    if (membership.empty()) continue;
    spans.push_back(MembershipSpan{membership.project, membership.interval()});
    spansByProject[membership.project].push_back(membership.interval());
  }

  // 1. Current lines: the period's shares, none of which can be billed yet.
  std::vector<UsageCharge> current;
  current.reserve(input.current.size());
  for (const Charge& charge : input.current) current.push_back(usageOf(charge, currency));
  auto currentDraft =
      domain::computeInvoice(InvoiceInput{currency, input.period, spans, current, zero});
  if (!currentDraft) {
    return internal("cannot compute the invoice lines for the period: " + currentDraft.error());
  }

  std::vector<CollectedLine> lines;
  lines.reserve(currentDraft->lines.size());
  for (domain::InvoiceLine& line : currentDraft->lines) {
    lines.push_back(CollectedLine{std::move(line), false});
  }

  // 2. Corrections: unbilled shares before the period. Charges that were billed in the same
  // stretches can be computed together: group them by their billed intervals and bill each group
  // for its memberships minus those intervals.
  std::map<std::string, std::vector<Interval>> billedByCharge;
  for (const BilledShare& share : input.billed) {
    billedByCharge[share.chargeId].push_back(share.billed);
  }
  std::map<std::vector<std::pair<std::int64_t, std::int64_t>>, std::vector<const Charge*>> groups;
  Timestamp earliest = input.period.start;
  for (const Charge& charge : input.unsettled) {
    if (charge.period.start >= input.period.start) continue;
    std::vector<std::pair<std::int64_t, std::int64_t>> key;
    for (const Interval& billed : merged(billedByCharge[charge.id])) {
      key.emplace_back(billed.start.time_since_epoch().count(),
                       billed.end.time_since_epoch().count());
    }
    groups[key].push_back(&charge);
    earliest = std::min(earliest, charge.period.start);
  }
  const Interval before{earliest, input.period.start};
  for (const auto& [billedKey, charges] : groups) {
    std::vector<Interval> billed;
    for (const auto& [start, end] : billedKey) {
      billed.push_back(
          Interval{Timestamp{std::chrono::seconds{start}}, Timestamp{std::chrono::seconds{end}}});
    }
    std::set<std::string> projects;
    std::vector<UsageCharge> usage;
    for (const Charge* charge : charges) {
      projects.insert(charge->project);
      usage.push_back(usageOf(*charge, currency));
    }
    std::vector<MembershipSpan> unbilled;
    for (const std::string& project : projects) {
      for (const Interval& interval : subtractIntervals(spansByProject[project], billed)) {
        unbilled.push_back(MembershipSpan{project, interval});
      }
    }
    auto draft = domain::computeInvoice(InvoiceInput{currency, before, unbilled, usage, zero});
    if (!draft) return internal("cannot compute the correction lines: " + draft.error());
    for (domain::InvoiceLine& line : draft->lines) {
      lines.push_back(CollectedLine{std::move(line), true});
    }
  }

  // 3. Assembly: every collected line becomes a charge of its own, billed whole, so that the
  // domain core also sorts the lines and computes project totals, subtotal, credits and total.
  const Interval whole{std::min(before.start, input.period.start), input.period.end};
  std::vector<UsageCharge> pseudo;
  pseudo.reserve(lines.size());
  std::set<std::string> projects;
  for (const domain::ProjectSubtotal& total : currentDraft->projectTotals) {
    projects.insert(total.project);
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const domain::InvoiceLine& line = lines[i].line;
    projects.insert(line.project);
    pseudo.push_back(UsageCharge{pseudoId(line.chargeId, i), line.project, line.service,
                                 line.description, line.quantity, line.unit, line.amount,
                                 line.period});
  }
  std::vector<MembershipSpan> everyone;
  for (const std::string& project : projects) everyone.push_back(MembershipSpan{project, whole});
  auto assembled = domain::computeInvoice(InvoiceInput{
      currency, whole, everyone, pseudo, Money{input.creditsAvailableMinor, currency}});
  if (!assembled) return internal("cannot add up the invoice: " + assembled.error());

  Billing billing;
  billing.draft = std::move(*assembled);
  billing.draft.period = input.period;
  billing.origins.reserve(billing.draft.lines.size());
  std::map<std::string, std::string> clientIds;
  for (const Charge& charge : input.current) clientIds[charge.id] = charge.clientId;
  for (const Charge& charge : input.unsettled) clientIds[charge.id] = charge.clientId;
  for (domain::InvoiceLine& line : billing.draft.lines) {
    const std::size_t index = pseudoIndex(line.chargeId);
    if (index >= lines.size()) return internal("invoice assembly lost track of a line");
    line.chargeId = lines[index].line.chargeId;
    billing.origins.push_back(LineOrigin{clientIds[line.chargeId], lines[index].correction});
  }
  return billing;
}

}  // namespace billing::ledger
