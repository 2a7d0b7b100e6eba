#include "reconcilers/backend_sync.h"

#include <mutex>
#include <random>

namespace billing::reconcilers {

std::string paymentSecretReference(std::string_view ns, const domain::SecretKeySelector& secret) {
  return "secret://" + std::string(ns) + "/" + secret.name + "/" + secret.key;
}

backend::AccountSpec accountSpecFor(const domain::BillingGroup& group,
                                    const std::string& organization) {
  backend::AccountSpec spec;
  spec.id = group.metadata.uid;
  spec.name = group.spec.displayName.empty() ? group.metadata.name : group.spec.displayName;
  spec.organization = organization;
  spec.scope = group.spec.scope;
  spec.currency = group.spec.currency;
  backend::AccountProfile& profile = spec.profile;
  profile.company = group.spec.company;
  profile.billingEmails = group.spec.billingEmails;
  profile.contactEmails = group.spec.billingContactEmails;
  if (group.spec.address) {
    const domain::Address& address = *group.spec.address;
    profile.address = backend::PostalAddress{address.lines, address.city, address.state,
                                             address.zipCode, address.countryCode};
  }
  profile.vatId = group.spec.vatId;
  if (group.spec.paymentMethod) {
    backend::PaymentMethodReference payment;
    payment.type = group.spec.paymentMethod->type;
    if (group.spec.paymentMethod->secretRef) {
      payment.reference =
          paymentSecretReference(group.metadata.ns, *group.spec.paymentMethod->secretRef);
    }
    profile.paymentMethod = std::move(payment);
  }
  profile.invoiceText = group.spec.invoiceText;
  return spec;
}

bool accountDiffers(const backend::AccountSpec& actual, const backend::AccountSpec& desired) {
  return actual != desired;
}

std::string accountKey(const domain::BillingGroup& group,
                       const std::optional<backend::Account>& existing) {
  std::string key =
      "account-" + group.metadata.uid + "-g" + std::to_string(group.metadata.generation) + "-";
  key += existing ? std::to_string(existing->updatedAt.time_since_epoch().count()) : "new";
  return key;
}

std::string membershipKey(const domain::Project& project, std::string_view groupUid) {
  return "membership-" + project.metadata.uid + "-" + std::string(groupUid) + "-g" +
         std::to_string(project.metadata.generation);
}

std::string endMembershipKey(const domain::Project& project) {
  return "end-membership-" + project.metadata.uid;
}

std::string creditKey(std::string_view groupUid, std::string_view grantId) {
  return "credit-" + std::string(groupUid) + "-" + std::string(grantId);
}

std::string closeAccountKey(std::string_view groupUid, domain::Timestamp at) {
  return "close-account-" + std::string(groupUid) + "-" +
         std::to_string(at.time_since_epoch().count());
}

std::string backendProjectName(const domain::Project& project) {
  return project.metadata.ns + "/" + project.metadata.name;
}

std::optional<backend::Membership> membershipAt(const std::vector<backend::Membership>& memberships,
                                                domain::Timestamp at) {
  for (const backend::Membership& membership : memberships) {
    if (membership.effectiveFrom <= at &&
        (!membership.effectiveTo || at < *membership.effectiveTo)) {
      return membership;
    }
  }
  return std::nullopt;
}

std::string backendReason(const backend::BackendError& error) {
  switch (error.kind) {
    case backend::BackendErrorKind::Unavailable:
    case backend::BackendErrorKind::Internal:
      return "BackendUnavailable";
    case backend::BackendErrorKind::NotFound:
      return "BillingAccountPending";
    case backend::BackendErrorKind::Conflict:
      return "BackendConflict";
    case backend::BackendErrorKind::Invalid:
      return "BackendRejected";
    case backend::BackendErrorKind::Unauthorized:
      return "BackendUnauthorized";
  }
  return "BackendUnavailable";
}

std::chrono::milliseconds jittered(std::chrono::milliseconds base, double jitter) {
  static std::mutex mutex;
  static std::mt19937_64 random{std::random_device{}()};
  if (jitter <= 0) return base;
  std::uniform_real_distribution<double> factor(1.0 - jitter, 1.0 + jitter);
  double drawn = 0;
  {
    std::lock_guard lock(mutex);
    drawn = factor(random);
  }
  return std::chrono::milliseconds(
      static_cast<std::chrono::milliseconds::rep>(static_cast<double>(base.count()) * drawn));
}

}  // namespace billing::reconcilers
