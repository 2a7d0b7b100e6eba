#include "reconcilers/domain/export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace billing::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const Currency kUsd = findCurrency("USD").value();
const Currency kJpy = findCurrency("JPY").value();

Timestamp ts(const char* text) {
  auto parsed = parseTimestamp(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(Timestamp{});
}

Money usd(const char* text) { return parseMoney(text, kUsd).value(); }

const Interval kNovember{ts("2026-11-01T00:00:00Z"), ts("2026-12-01T00:00:00Z")};
const Interval kForever{ts("2000-01-01T00:00:00Z"), ts("2100-01-01T00:00:00Z")};

// A strict RFC 4180 reader: CRLF between records, quotes only around whole fields, and a CR or
// LF outside quotes is a failure.
std::vector<std::vector<std::string>> readCsv(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') {
        field.push_back(c);
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"' && field.empty()) {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      ++i;
    } else if (c == '\r' || c == '\n' || c == '"') {
      ADD_FAILURE() << "unquoted " << static_cast<int>(c) << " at offset " << i;
    } else {
      field.push_back(c);
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quote";
  EXPECT_TRUE(row.empty() && field.empty()) << "last record lacks its CRLF";
  return rows;
}

// The rows after the header, as column name -> value.
std::vector<std::map<std::string, std::string>> records(std::string_view text) {
  const auto rows = readCsv(text);
  std::vector<std::map<std::string, std::string>> out;
  if (rows.empty()) return out;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    EXPECT_EQ(rows[r].size(), rows[0].size()) << "row " << r;
    std::map<std::string, std::string> record;
    for (std::size_t c = 0; c < rows[0].size() && c < rows[r].size(); ++c) {
      record[rows[0][c]] = rows[r][c];
    }
    out.push_back(std::move(record));
  }
  return out;
}

InvoiceHeader header() {
  InvoiceHeader h;
  h.invoiceNumber = "INV-2026-0042";
  h.backendInvoiceId = "inv_8f3a";
  h.billingGroup = "acme/main";
  h.displayName = "ACME, Inc. \"Main\"";
  h.organization = "acme";
  h.issuerName = "Platform Team";
  h.projects["acme/web"] =
      ProjectExportInfo{"Web shop", {{"team", "web"}, {"cost-center", "CC-1"}}};
  return h;
}

InvoiceDraft draft(const char* credits) {
  const Interval setup{ts("2026-11-16T00:00:00Z"), ts("2026-11-16T00:00:00Z")};
  InvoiceInput in{
      kUsd,
      kNovember,
      {{"acme/web", kForever}, {"acme/api", kForever}},
      {
          {"c1", "acme/web", "compute", "vCPU, large", "720", "hours", usd("12.30"), kNovember},
          {"c2", "acme/api", "storage", "5\" disk", "1.5", "GB-month", usd("0.50"), kNovember},
          {"c3", "acme/web", "support", "Line one\nLine two", "1", "each", usd("5.00"), setup},
      },
      usd(credits)};
  auto result = computeInvoice(in);
  EXPECT_TRUE(result) << (result ? "" : result.error());
  return result.value_or(InvoiceDraft{});
}

TEST(ExportCsvField, QuotesOnlyWhenRfc4180Requires) {
  EXPECT_EQ(csvField("plain text"), "plain text");
  EXPECT_EQ(csvField(""), "");
  EXPECT_EQ(csvField("a,b"), "\"a,b\"");
  EXPECT_EQ(csvField("5\" disk"), "\"5\"\" disk\"");
  EXPECT_EQ(csvField("\"quoted\""), "\"\"\"quoted\"\"\"");
  EXPECT_EQ(csvField("one\ntwo"), "\"one\ntwo\"");
  EXPECT_EQ(csvField("one\rtwo"), "\"one\rtwo\"");
  EXPECT_EQ(csvField("-12.30"), "-12.30");
}

TEST(ExportJsonObject, WritesStringMembersInKeyOrder) {
  EXPECT_EQ(jsonObject({}), "{}");
  EXPECT_EQ(jsonObject({{"team", "web"}}), "{\"team\":\"web\"}");
  EXPECT_EQ(jsonObject({{"b", "2"}, {"a", "1"}}), "{\"a\":\"1\",\"b\":\"2\"}");
}

TEST(ExportJsonObject, EscapesWhatJsonRequires) {
  EXPECT_EQ(jsonObject({{"say", "\"hi\"\\"}}), R"({"say":"\"hi\"\\"})");
  EXPECT_EQ(jsonObject({{"lines", "a\nb\tc\rd"}}), R"({"lines":"a\nb\tc\rd"})");
  EXPECT_EQ(jsonObject({{"ctl", std::string("\x01\x1f", 2)}}), R"({"ctl":"\u0001\u001f"})");
  EXPECT_EQ(jsonObject({{"city", "Zürich"}}), "{\"city\":\"Zürich\"}");
}

TEST(ExportCsv, WritesOneRowPerLineWithAHeader) {
  const std::string expected =
      "invoice_number,billing_group,organization,project,service,description,quantity,unit,"
      "charge_period_start,charge_period_end,amount,currency\r\n"
      "INV-2026-0042,acme/main,acme,acme/api,storage,\"5\"\" disk\",1.5,GB-month,"
      "2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,0.50,USD\r\n"
      "INV-2026-0042,acme/main,acme,acme/web,compute,\"vCPU, large\",720,hours,"
      "2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,12.30,USD\r\n"
      "INV-2026-0042,acme/main,acme,acme/web,support,\"Line one\nLine two\",1,each,"
      "2026-11-16T00:00:00Z,2026-11-16T00:00:00Z,5.00,USD\r\n";
  EXPECT_EQ(toCsv(header(), draft("0.00")), expected);
}

TEST(ExportCsv, ReadsBackFieldForFieldWithAStrictReader) {
  const auto rows = readCsv(toCsv(header(), draft("0.00")));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[2][5], "vCPU, large");
  EXPECT_EQ(rows[1][5], "5\" disk");
  EXPECT_EQ(rows[3][5], "Line one\nLine two");
}

TEST(ExportCsv, HasOnlyTheHeaderWhenThereAreNoLines) {
  InvoiceDraft empty{kUsd, kNovember, {}, {}, Money{0, kUsd}, Money{0, kUsd}, Money{0, kUsd}};
  const auto rows = readCsv(toCsv(header(), empty));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].size(), 12u);
}

TEST(ExportCsv, WritesYenWithoutDecimals) {
  InvoiceDraft yen{kJpy, kNovember, {}, {}, Money{1500, kJpy}, Money{0, kJpy}, Money{1500, kJpy}};
  yen.lines.push_back(
      InvoiceLine{"c1", "acme/web", "compute", "", "1", "each", Money{1500, kJpy}, kNovember});
  const auto rows = records(toCsv(header(), yen));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("amount"), "1500");
  EXPECT_EQ(rows[0].at("currency"), "JPY");
}

TEST(ExportFocus, HeaderIsTheFocusColumnsThenCustomOnes) {
  const std::string text = toFocusCsv(header(), draft("0.00"));
  const std::string expected =
      "BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,BillingPeriodStart,"
      "BillingPeriodEnd,ChargeCategory,ChargeClass,ChargeDescription,ChargeFrequency,"
      "ChargePeriodStart,ChargePeriodEnd,ConsumedQuantity,ConsumedUnit,EffectiveCost,"
      "InvoiceIssuerName,ListCost,PricingQuantity,PricingUnit,ProviderName,PublisherName,"
      "ServiceName,SubAccountId,SubAccountName,Tags,x_InvoiceNumber,x_BackendInvoiceId,"
      "x_Organization\r\n";
  EXPECT_EQ(text.substr(0, expected.size()), expected);
}

TEST(ExportFocus, UsageRowCarriesTheLineTheGroupAndTheProject) {
  const auto rows = records(toFocusCsv(header(), draft("0.00")));
  ASSERT_EQ(rows.size(), 3u);
  const auto& web = rows[1];  // acme/api sorts first
  EXPECT_EQ(web.at("BilledCost"), "12.30");
  EXPECT_EQ(web.at("BillingAccountId"), "acme/main");
  EXPECT_EQ(web.at("BillingAccountName"), "ACME, Inc. \"Main\"");
  EXPECT_EQ(web.at("BillingCurrency"), "USD");
  EXPECT_EQ(web.at("BillingPeriodStart"), "2026-11-01T00:00:00Z");
  EXPECT_EQ(web.at("BillingPeriodEnd"), "2026-12-01T00:00:00Z");
  EXPECT_EQ(web.at("ChargeCategory"), "Usage");
  EXPECT_EQ(web.at("ChargeClass"), "");
  EXPECT_EQ(web.at("ChargeDescription"), "vCPU, large");
  EXPECT_EQ(web.at("ChargeFrequency"), "Usage-Based");
  EXPECT_EQ(web.at("ChargePeriodStart"), "2026-11-01T00:00:00Z");
  EXPECT_EQ(web.at("ChargePeriodEnd"), "2026-12-01T00:00:00Z");
  EXPECT_EQ(web.at("ConsumedQuantity"), "720");
  EXPECT_EQ(web.at("ConsumedUnit"), "hours");
  EXPECT_EQ(web.at("EffectiveCost"), "12.30");
  EXPECT_EQ(web.at("InvoiceIssuerName"), "Platform Team");
  EXPECT_EQ(web.at("ListCost"), "12.30");
  EXPECT_EQ(web.at("PricingQuantity"), "720");
  EXPECT_EQ(web.at("PricingUnit"), "hours");
  EXPECT_EQ(web.at("ProviderName"), "Platform Team");
  EXPECT_EQ(web.at("PublisherName"), "Platform Team");
  EXPECT_EQ(web.at("ServiceName"), "compute");
  EXPECT_EQ(web.at("SubAccountId"), "acme/web");
  EXPECT_EQ(web.at("SubAccountName"), "Web shop");
  EXPECT_EQ(web.at("Tags"), R"({"cost-center":"CC-1","team":"web"})");
  EXPECT_EQ(web.at("x_InvoiceNumber"), "INV-2026-0042");
  EXPECT_EQ(web.at("x_BackendInvoiceId"), "inv_8f3a");
  EXPECT_EQ(web.at("x_Organization"), "acme");
}

TEST(ExportFocus, TagsJsonIsQuotedAsOneCsvField) {
  const std::string text = toFocusCsv(header(), draft("0.00"));
  EXPECT_THAT(text, HasSubstr(R"(,"{""cost-center"":""CC-1"",""team"":""web""}",)"));
}

TEST(ExportFocus, ProjectWithoutExportInfoFallsBackToItsKey) {
  const auto rows = records(toFocusCsv(header(), draft("0.00")));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].at("SubAccountId"), "acme/api");
  EXPECT_EQ(rows[0].at("SubAccountName"), "acme/api");
  EXPECT_EQ(rows[0].at("Tags"), "{}");
  EXPECT_EQ(rows[0].at("ChargeDescription"), "5\" disk");
}

TEST(ExportFocus, InstantChargeIsOneTime) {
  const auto rows = records(toFocusCsv(header(), draft("0.00")));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].at("ChargeDescription"), "Line one\nLine two");
  EXPECT_EQ(rows[2].at("ChargeFrequency"), "One-Time");
  EXPECT_EQ(rows[2].at("ChargePeriodStart"), "2026-11-16T00:00:00Z");
}

TEST(ExportFocus, AppliedCreditsAreOneNegativeCreditRow) {
  const auto rows = records(toFocusCsv(header(), draft("10.00")));
  ASSERT_EQ(rows.size(), 4u);
  const auto& credit = rows[3];
  EXPECT_EQ(credit.at("ChargeCategory"), "Credit");
  EXPECT_EQ(credit.at("BilledCost"), "-10.00");
  EXPECT_EQ(credit.at("EffectiveCost"), "-10.00");
  EXPECT_EQ(credit.at("ListCost"), "-10.00");
  EXPECT_EQ(credit.at("ChargeFrequency"), "One-Time");
  EXPECT_EQ(credit.at("ChargeClass"), "");
  EXPECT_EQ(credit.at("ChargePeriodStart"), "2026-11-01T00:00:00Z");
  EXPECT_EQ(credit.at("ChargePeriodEnd"), "2026-12-01T00:00:00Z");
  EXPECT_EQ(credit.at("ConsumedQuantity"), "");
  EXPECT_EQ(credit.at("PricingQuantity"), "");
  EXPECT_EQ(credit.at("SubAccountId"), "");
  EXPECT_EQ(credit.at("BillingAccountId"), "acme/main");
  EXPECT_EQ(credit.at("BillingCurrency"), "USD");
}

TEST(ExportFocus, CreditRowIsCappedByTheSubtotal) {
  const auto rows = records(toFocusCsv(header(), draft("100.00")));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[3].at("BilledCost"), "-17.80");
}

TEST(ExportFocus, NoCreditRowWithoutAppliedCredits) {
  const auto rows = records(toFocusCsv(header(), draft("0.00")));
  for (const auto& row : rows) EXPECT_EQ(row.at("ChargeCategory"), "Usage");
}

TEST(ExportFocus, BilledCostAddsUpToTheInvoiceTotal) {
  const InvoiceDraft d = draft("10.00");
  ASSERT_EQ(formatMoney(d.total), "7.80");
  std::int64_t sum = 0;
  for (const auto& row : records(toFocusCsv(header(), d))) {
    auto cost = parseMoney(row.at("BilledCost"), kUsd);
    ASSERT_TRUE(cost) << row.at("BilledCost");
    sum += cost->minorUnits;
  }
  EXPECT_EQ(sum, d.total.minorUnits);
}

TEST(ExportFocus, EveryRecordHasEveryColumn) {
  const auto rows = readCsv(toFocusCsv(header(), draft("10.00")));
  ASSERT_EQ(rows.size(), 5u);
  for (const auto& row : rows) EXPECT_EQ(row.size(), 28u);
  EXPECT_THAT(std::vector<std::string>(rows[0].begin(), rows[0].begin() + 3),
              ElementsAre("BilledCost", "BillingAccountId", "BillingAccountName"));
}

}  // namespace
}  // namespace billing::domain
