#include "reconcilers/domain/formats.h"

#include <gtest/gtest.h>

#include <string>

namespace billing::domain {
namespace {

TEST(FormatsTest, DnsSubdomainAcceptsKubernetesNames) {
  EXPECT_TRUE(isDnsSubdomain("web"));
  EXPECT_TRUE(isDnsSubdomain("acme-web.prod"));
  EXPECT_TRUE(isDnsSubdomain("a1"));
  EXPECT_TRUE(isDnsSubdomain(std::string(253, 'a')));
}

TEST(FormatsTest, DnsSubdomainRejectsWhatKubernetesRejects) {
  EXPECT_FALSE(isDnsSubdomain(""));
  EXPECT_FALSE(isDnsSubdomain("Web"));
  EXPECT_FALSE(isDnsSubdomain("-web"));
  EXPECT_FALSE(isDnsSubdomain("web-"));
  EXPECT_FALSE(isDnsSubdomain("web..prod"));
  EXPECT_FALSE(isDnsSubdomain("web_prod"));
  EXPECT_FALSE(isDnsSubdomain(std::string(254, 'a')));
}

TEST(FormatsTest, DnsLabelHasNoDotsAndAtMost63Characters) {
  EXPECT_TRUE(isDnsLabel("acme-web"));
  EXPECT_FALSE(isDnsLabel("acme.web"));
  EXPECT_TRUE(isDnsLabel(std::string(63, 'a')));
  EXPECT_FALSE(isDnsLabel(std::string(64, 'a')));
}

TEST(FormatsTest, LabelValues) {
  EXPECT_TRUE(isLabelValue(""));
  EXPECT_TRUE(isLabelValue("Acme_Corp.1"));
  EXPECT_FALSE(isLabelValue("acme corp"));
  EXPECT_FALSE(isLabelValue("_acme"));
  EXPECT_FALSE(isLabelValue(std::string(64, 'a')));
}

TEST(FormatsTest, EmailAddresses) {
  EXPECT_TRUE(isEmailAddress("billing@acme.example"));
  EXPECT_TRUE(isEmailAddress("first.last+invoices@mail.acme-corp.example"));
  EXPECT_FALSE(isEmailAddress("billing"));
  EXPECT_FALSE(isEmailAddress("@acme.example"));
  EXPECT_FALSE(isEmailAddress("billing@localhost"));
  EXPECT_FALSE(isEmailAddress("Billing <billing@acme.example>"));
  EXPECT_FALSE(isEmailAddress("bill..ing@acme.example"));
  EXPECT_FALSE(isEmailAddress("billing@-acme.example"));
}

TEST(FormatsTest, CountryCodesAreTheAssignedIsoCodes) {
  EXPECT_TRUE(isCountryCode("DE"));
  EXPECT_TRUE(isCountryCode("US"));
  EXPECT_TRUE(isCountryCode("AD"));
  EXPECT_TRUE(isCountryCode("ZW"));
  EXPECT_FALSE(isCountryCode("UK"));  // the United Kingdom is GB
  EXPECT_FALSE(isCountryCode("de"));
  EXPECT_FALSE(isCountryCode("DEU"));
  EXPECT_FALSE(isCountryCode(""));
}

TEST(FormatsTest, CardNumbersAreFoundInText) {
  EXPECT_TRUE(containsCardNumber("4111111111111111"));
  EXPECT_TRUE(containsCardNumber("pay with 4111 1111 1111 1111 please"));
  EXPECT_TRUE(containsCardNumber("5500-0000-0000-0004"));
  EXPECT_FALSE(containsCardNumber("4111111111111112"));  // fails the Luhn check
  EXPECT_FALSE(containsCardNumber("PO 12345, due in 30 days"));
  EXPECT_FALSE(containsCardNumber("0000000000000000"));  // a placeholder, not a card
  EXPECT_FALSE(containsCardNumber(""));
  // Longer digit runs (order numbers, IBAN digits) are not searched for hidden card numbers.
  EXPECT_FALSE(containsCardNumber("order 41111111111111110000"));
  EXPECT_FALSE(containsCardNumber("ref4111111111111111"));
}

TEST(FormatsTest, IbansAreFoundInText) {
  EXPECT_TRUE(containsIban("DE89370400440532013000"));
  EXPECT_TRUE(containsIban("IBAN: GB82 WEST 1234 5698 7654 32"));
  EXPECT_FALSE(containsIban("DE89370400440532013001"));  // wrong check digits
  EXPECT_FALSE(containsIban("DE123456789"));             // a VAT id, far too short
  EXPECT_FALSE(containsIban("Acme GmbH, Berlin"));
  // A word before the IBAN does not hide it.
  EXPECT_TRUE(containsIban("IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX"));
}

}  // namespace
}  // namespace billing::domain
