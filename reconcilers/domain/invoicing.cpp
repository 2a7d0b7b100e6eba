#include "reconcilers/domain/invoicing.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "reconcilers/domain/period.h"

namespace billing::domain {
namespace {

constexpr std::size_t kMaxNameLength = 253;

// FNV-1a, 32 bits: stable across platforms and releases (std::hash is not), which a name that
// must be found again after a restart or an upgrade needs.
std::uint32_t fnv1a(std::string_view text) {
  std::uint32_t hash = 2166136261u;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return hash;
}

std::string dateOf(Timestamp t) {
  const std::chrono::year_month_day date{std::chrono::floor<std::chrono::days>(t)};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

}  // namespace

std::string invoiceResourceName(std::string_view groupName, Timestamp periodStart) {
  const std::string suffix = "-" + dateOf(periodStart);
  if (groupName.size() + suffix.size() <= kMaxNameLength) {
    return std::string(groupName) + suffix;
  }
  char hash[16];
  std::snprintf(hash, sizeof hash, "-%08x", fnv1a(groupName));
  std::string prefix(groupName.substr(0, kMaxNameLength - suffix.size() - 9));
  // Each DNS label must end with an alphanumeric character.
  while (!prefix.empty() && (prefix.back() == '-' || prefix.back() == '.')) prefix.pop_back();
  return prefix + hash + suffix;
}

std::vector<Interval> duePeriods(const DuePeriodsInput& input) {
  std::vector<Interval> out;
  Timestamp from = input.firstBillable;
  if (input.closedUpTo && *input.closedUpTo > from) from = *input.closedUpTo;
  for (Interval period = periodContaining(input.kind, from);
       out.size() < input.limit && period.end + input.grace <= input.now;
       period = nextPeriod(input.kind, period)) {
    out.push_back(period);
  }
  return out;
}

Timestamp nextCloseTime(InvoicingPeriod kind, Timestamp now, std::chrono::seconds grace) {
  return periodContaining(kind, now - grace).end + grace;
}

std::optional<Interval> finalPartialPeriod(InvoicingPeriod kind, Timestamp closeAt) {
  const Interval containing = periodContaining(kind, closeAt);
  if (containing.start == closeAt) return std::nullopt;
  return Interval{containing.start, closeAt};
}

std::optional<Interval> recordedFinalPeriod(const BillingGroup& group) {
  if (!group.metadata.deletionTimestamp || !group.status.currentPeriod) return std::nullopt;
  const CurrentPeriod& recorded = *group.status.currentPeriod;
  if (!recorded.start || !recorded.end) return std::nullopt;
  const Interval period{*recorded.start, *recorded.end};
  const Interval whole = periodContaining(group.spec.invoicing.period, period.start);
  // A live group's (or a deleting group's, until the close is decided) currentPeriod is a whole
  // period: that is not a final partial one, and whole periods need no exception anyway.
  if (whole.start != period.start || period.end <= period.start || period.end >= whole.end) {
    return std::nullopt;
  }
  // The account closes at the deletion or later (when the last member left after it).
  if (period.end < *group.metadata.deletionTimestamp) return std::nullopt;
  return period;
}

std::vector<DraftStep> settleEarlierDrafts(InvoicingPeriod kind, Timestamp firstBillable,
                                           Timestamp issuingFrom,
                                           std::vector<EarlierDraft> drafts) {
  std::erase_if(drafts, [&](const EarlierDraft& draft) { return draft.period.end > issuingFrom; });
  std::sort(drafts.begin(), drafts.end(), [](const EarlierDraft& a, const EarlierDraft& b) {
    if (a.period.start != b.period.start) return a.period.start < b.period.start;
    return a.id < b.id;
  });
  const Timestamp billableFrom = periodContaining(kind, firstBillable).start;
  std::vector<DraftStep> out;
  for (const EarlierDraft& draft : drafts) {
    const bool beforeAnyMember = draft.period.end <= billableFrom;
    out.push_back(DraftStep{draft.id, draft.billsNothing && beforeAnyMember
                                          ? DraftSettlement::Void
                                          : DraftSettlement::Finalize});
  }
  return out;
}

std::optional<InvoiceRequestProblem> checkInvoiceRequest(InvoicingPeriod kind,
                                                         const Interval& period, bool finalize,
                                                         const std::optional<Interval>& finalPeriod,
                                                         Timestamp now) {
  const Interval whole = periodContaining(kind, period.start);
  const bool aligned = whole == period;
  const bool finalPartial = finalPeriod && *finalPeriod == period;
  if (!aligned && !finalPartial) {
    return InvoiceRequestProblem{
        "PeriodMisaligned",
        "the period [" + formatTimestamp(period.start) + ", " + formatTimestamp(period.end) +
            ") is not one " + std::string(invoicingPeriodName(kind)) +
            " period of the billing group; set spec.periodStart and spec.periodEnd to a whole "
            "period such as [" +
            formatTimestamp(whole.start) + ", " + formatTimestamp(whole.end) + ")"};
  }
  if (finalize && period.end > now) {
    return InvoiceRequestProblem{
        "PeriodNotEnded",
        "spec.finalize is true but the period ends at " + formatTimestamp(period.end) +
            ", which is still ahead: an invoice can only be finalized once its period has "
            "ended; set spec.finalize to false for an estimate, or set it again once the period "
            "has ended"};
  }
  return std::nullopt;
}

const Invoice* canonicalInvoice(const std::vector<const Invoice*>& invoices) {
  const Invoice* best = nullptr;
  for (const Invoice* invoice : invoices) {
    if (best == nullptr) {
      best = invoice;
      continue;
    }
    // An object without a creation time (not yet stored) sorts last.
    const auto created = invoice->metadata.creationTimestamp.value_or(Timestamp::max());
    const auto bestCreated = best->metadata.creationTimestamp.value_or(Timestamp::max());
    if (created < bestCreated ||
        (created == bestCreated && invoice->metadata.name < best->metadata.name)) {
      best = invoice;
    }
  }
  return best;
}

std::vector<std::string> invoicesToPrune(const std::vector<Invoice>& invoices, std::size_t keep) {
  std::vector<const Invoice*> ordered;
  for (const Invoice& invoice : invoices) ordered.push_back(&invoice);
  // Newest period first; an Invoice without a period start counts as newest (kept).
  std::sort(ordered.begin(), ordered.end(), [](const Invoice* a, const Invoice* b) {
    const auto startA = a->spec.periodStart.value_or(Timestamp::max());
    const auto startB = b->spec.periodStart.value_or(Timestamp::max());
    if (startA != startB) return startA > startB;
    return a->metadata.name < b->metadata.name;
  });
  std::vector<std::string> out;
  for (std::size_t i = ordered.size(); i > keep; --i) {
    const Invoice& invoice = *ordered[i - 1];
    if (!invoice.status.state || *invoice.status.state == InvoiceState::Draft) continue;
    if (invoice.metadata.deletionTimestamp) continue;
    out.push_back(invoice.metadata.name);
  }
  return out;
}

}  // namespace billing::domain
