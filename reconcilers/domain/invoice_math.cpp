#include "reconcilers/domain/invoice_math.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "reconcilers/domain/rounding.h"

namespace billing::domain {
namespace {

using detail::divideRoundHalfEven;
using detail::Int128;

std::string currencyMismatch(std::string_view what, const Currency& got, const Currency& want) {
  return std::string(what) + " is in " + std::string(got.code) + " but the invoice is in " +
         std::string(want.code);
}

std::string describe(const Interval& interval) {
  return "[" + formatTimestamp(interval.start) + ", " + formatTimestamp(interval.end) + ")";
}

// Each project's membership intervals, sorted and with overlapping or touching ones merged, so
// a duplicated or overlapping membership record can never bill the same second twice.
std::map<std::string, std::vector<Interval>> mergeMemberships(
    const std::vector<MembershipSpan>& memberships) {
  std::map<std::string, std::vector<Interval>> byProject;
  for (const MembershipSpan& span : memberships) {
    if (span.effective.empty()) continue;
    byProject[span.project].push_back(span.effective);
  }
  for (auto& [project, intervals] : byProject) {
    std::sort(intervals.begin(), intervals.end(), [](const Interval& a, const Interval& b) {
      return std::tie(a.start, a.end) < std::tie(b.start, b.end);
    });
    std::vector<Interval> merged;
    for (const Interval& interval : intervals) {
      if (!merged.empty() && interval.start <= merged.back().end) {
        merged.back().end = std::max(merged.back().end, interval.end);
      } else {
        merged.push_back(interval);
      }
    }
    intervals = std::move(merged);
  }
  return byProject;
}

std::string formatScaled(Int128 value, int scale) {
  const bool negative = value < 0;
  if (negative) value = -value;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  } while (value > 0);
  const auto decimals = static_cast<std::size_t>(scale);
  if (digits.size() <= decimals) digits.insert(0, decimals + 1 - digits.size(), '0');
  if (decimals > 0) digits.insert(digits.size() - decimals, 1, '.');
  if (negative) digits.insert(digits.begin(), '-');
  return digits;
}

}  // namespace

std::expected<Money, std::string> shareOf(const Money& amount, const Interval& whole,
                                          const Interval& part) {
  if (whole.empty()) {
    return std::unexpected("cannot split an amount over the empty interval " + describe(whole));
  }
  if (part.start < whole.start || part.end > whole.end || part.end < part.start) {
    return std::unexpected("interval " + describe(part) + " is not within " + describe(whole));
  }
  const std::int64_t length = whole.length().count();
  auto before = prorate(amount, (part.start - whole.start).count(), length);
  if (!before) return before;
  auto through = prorate(amount, (part.end - whole.start).count(), length);
  if (!through) return through;
  return subtract(*through, *before);
}

std::expected<std::string, std::string> prorateQuantity(std::string_view quantity,
                                                        std::int64_t numerator,
                                                        std::int64_t denominator) {
  if (quantity.empty()) return std::string();
  if (denominator == 0) return std::unexpected(std::string("prorate: denominator is zero"));
  const auto malformed = [&] {
    return std::unexpected("quantity \"" + std::string(quantity) +
                           "\" is not a plain decimal number");
  };
  constexpr std::size_t kMaxDigits = 30;  // 10^30 * 10^6 * 2^63 would not fit; checked below
  std::size_t pos = 0;
  const bool negative = quantity[0] == '-';
  if (negative) ++pos;
  Int128 digits = 0;
  std::size_t count = 0;
  int decimals = 0;
  bool inFraction = false;
  for (; pos < quantity.size(); ++pos) {
    const char c = quantity[pos];
    if (c == '.' && !inFraction) {
      if (count == 0) return malformed();
      inFraction = true;
      continue;
    }
    if (c < '0' || c > '9') return malformed();
    if (++count > kMaxDigits) {
      return std::unexpected("quantity \"" + std::string(quantity) + "\" has too many digits");
    }
    digits = digits * 10 + (c - '0');
    if (inFraction) ++decimals;
  }
  if (count == 0 || (inFraction && decimals == 0)) return malformed();
  if (numerator == denominator) return std::string(quantity);

  const int scale = std::max(6, decimals);
  Int128 value = negative ? -digits : digits;
  for (int i = decimals; i < scale; ++i) value *= 10;  // |value| < 10^36
  Int128 n = 0;
  if (__builtin_mul_overflow(value, static_cast<Int128>(numerator), &n)) {
    return std::unexpected("overflow prorating quantity \"" + std::string(quantity) + "\"");
  }
  Int128 d = denominator;
  if (d < 0) {
    n = -n;
    d = -d;
  }
  Int128 result = divideRoundHalfEven(n, d);
  int resultScale = scale;
  while (resultScale > decimals && result % 10 == 0) {
    result /= 10;
    --resultScale;
  }
  return formatScaled(result, resultScale);
}

std::expected<InvoiceDraft, std::string> computeInvoice(const InvoiceInput& input) {
  if (input.period.empty()) {
    return std::unexpected("invoice period " + describe(input.period) + " is empty");
  }
  if (input.creditsAvailable.currency.code != input.currency.code) {
    return std::unexpected(
        currencyMismatch("the credit balance", input.creditsAvailable.currency, input.currency));
  }
  if (input.creditsAvailable.minorUnits < 0) {
    return std::unexpected("the credit balance " + formatMoney(input.creditsAvailable) + " " +
                           std::string(input.currency.code) + " is negative");
  }

  const auto memberships = mergeMemberships(input.memberships);
  InvoiceDraft draft;
  draft.currency = input.currency;
  draft.period = input.period;

  std::set<std::string_view> seenIds;
  for (const UsageCharge& charge : input.charges) {
    const std::string who = "charge \"" + charge.id + "\"";
    if (!seenIds.insert(charge.id).second) {
      return std::unexpected(who + " appears more than once");
    }
    if (charge.amount.currency.code != input.currency.code) {
      return std::unexpected(currencyMismatch(who, charge.amount.currency, input.currency));
    }
    if (charge.period.end < charge.period.start) {
      return std::unexpected(who + " ends before it starts: " + describe(charge.period));
    }
    const auto spans = memberships.find(charge.project);
    if (spans == memberships.end()) continue;

    const auto addLine = [&](const Interval& billed, Money amount, std::string quantity) -> void {
      draft.lines.push_back(InvoiceLine{charge.id, charge.project, charge.service,
                                        charge.description, std::move(quantity), charge.unit,
                                        amount, billed});
    };

    if (charge.period.start == charge.period.end) {  // an instant: never split
      const Timestamp at = charge.period.start;
      if (!input.period.contains(at)) continue;
      const bool member = std::any_of(spans->second.begin(), spans->second.end(),
                                      [&](const Interval& span) { return span.contains(at); });
      if (member) addLine(charge.period, charge.amount, charge.quantity);
      continue;
    }

    for (const Interval& span : spans->second) {
      const Interval billed = intersect(intersect(charge.period, span), input.period);
      if (billed.empty()) continue;
      auto amount = shareOf(charge.amount, charge.period, billed);
      if (!amount) return std::unexpected(who + ": " + amount.error());
      auto quantity =
          prorateQuantity(charge.quantity, billed.length().count(), charge.period.length().count());
      if (!quantity) return std::unexpected(who + ": " + quantity.error());
      addLine(billed, *amount, std::move(*quantity));
    }
  }

  std::stable_sort(draft.lines.begin(), draft.lines.end(),
                   [](const InvoiceLine& a, const InvoiceLine& b) {
                     return std::tie(a.project, a.period.start, a.chargeId, a.period.end) <
                            std::tie(b.project, b.period.start, b.chargeId, b.period.end);
                   });

  const Money zero{0, input.currency};
  std::map<std::string, Money> totals;
  for (const auto& [project, spans] : memberships) {
    const bool memberDuringPeriod =
        std::any_of(spans.begin(), spans.end(),
                    [&](const Interval& span) { return !intersect(span, input.period).empty(); });
    if (memberDuringPeriod) totals.emplace(project, zero);
  }
  Money subtotal = zero;
  for (const InvoiceLine& line : draft.lines) {
    auto [it, inserted] = totals.emplace(line.project, zero);
    auto projectSum = add(it->second, line.amount);
    if (!projectSum) return std::unexpected("project " + line.project + ": " + projectSum.error());
    it->second = *projectSum;
    auto sum = add(subtotal, line.amount);
    if (!sum) return std::unexpected("subtotal: " + sum.error());
    subtotal = *sum;
  }
  for (const auto& [project, amount] : totals) {
    draft.projectTotals.push_back(ProjectSubtotal{project, amount});
  }

  draft.subtotal = subtotal;
  draft.creditsApplied = Money{
      std::min(input.creditsAvailable.minorUnits, std::max<std::int64_t>(subtotal.minorUnits, 0)),
      input.currency};
  auto total = subtract(subtotal, draft.creditsApplied);
  if (!total) return std::unexpected("total: " + total.error());  // cannot happen: 0 <= applied
  draft.total = *total;
  return draft;
}

}  // namespace billing::domain
