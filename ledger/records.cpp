#include "ledger/records.h"

#include <cstdio>

namespace billing::ledger {

Interval Membership::interval() const {
  return Interval{effectiveFrom,
                  effectiveTo.value_or(Timestamp{std::chrono::seconds{kEndOfTimeSeconds}})};
}

std::string formatInvoiceNumber(std::int64_t number) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "INV-%06lld", static_cast<long long>(number));
  return buffer;
}

}  // namespace billing::ledger
