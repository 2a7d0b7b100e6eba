// The one rounding rule of the domain core, shared by money and quantity proration (see
// docs/money.md). Internal: include it from .cpp files only.
#pragma once

namespace billing::domain::detail {

// GCC's 128-bit integers, wide enough for any int64 * int64 product; __extension__ keeps
// -Wpedantic quiet about the non-standard type.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

// n / d rounded to the nearest integer, an exact half to the even neighbour. Requires d > 0.
inline Int128 divideRoundHalfEven(Int128 n, Int128 d) {
  Int128 quotient = n / d;
  Int128 remainder = n % d;  // same sign as n
  if (remainder < 0) {       // make it a floor division: 0 <= remainder < d
    quotient -= 1;
    remainder += d;
  }
  const Int128 twice = remainder * 2;
  if (twice > d || (twice == d && quotient % 2 != 0)) quotient += 1;
  return quotient;
}

}  // namespace billing::domain::detail
