#include "reconcilers/reconciler_support.h"

#include <algorithm>

#include "reconcilers/domain/conditions.h"

namespace billing::reconcilers {

domain::Timestamp systemNow() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

EventSink eventSinkFor(runtime::EventRecorder& recorder) {
  return [&recorder](const web::json::value& regarding, runtime::EventType type,
                     std::string_view reason, std::string_view note) {
    recorder.event(regarding, type, reason, "Reconcile", note);
  };
}

namespace detail {

runtime::Logger loggerFor(const runtime::Logger& fallback, const runtime::Request& request) {
  if (const runtime::ReconcileContext* context = runtime::currentReconcile()) {
    return context->logger;
  }
  return fallback.withValues({{"namespace", request.ns}, {"name", request.name}});
}

bool hasFinalizer(const domain::ObjectMeta& metadata, std::string_view finalizer) {
  return std::find(metadata.finalizers.begin(), metadata.finalizers.end(), finalizer) !=
         metadata.finalizers.end();
}

kube::Result<web::json::value> patchFinalizers(kube::Client& client,
                                               const kube::ResourceRef& resource,
                                               const domain::ObjectMeta& metadata,
                                               std::vector<std::string> finalizers) {
  web::json::value list = web::json::value::array(finalizers.size());
  for (std::size_t i = 0; i < finalizers.size(); ++i) {
    list[i] = web::json::value::string(finalizers[i]);
  }
  web::json::value patch = web::json::value::object();
  patch["metadata"] = web::json::value::object();
  patch["metadata"]["finalizers"] = std::move(list);
  patch["metadata"]["resourceVersion"] = web::json::value::string(metadata.resourceVersion);
  return client.patch(resource, metadata.ns, metadata.name, kube::PatchType::Merge, patch);
}

std::expected<std::optional<web::json::value>, runtime::ReconcileError> ensureFinalizer(
    kube::Client& client, const kube::ResourceRef& resource, const domain::ObjectMeta& metadata,
    std::string_view finalizer) {
  if (hasFinalizer(metadata, finalizer)) return std::nullopt;
  std::vector<std::string> finalizers = metadata.finalizers;
  finalizers.emplace_back(finalizer);
  auto patched = patchFinalizers(client, resource, metadata, std::move(finalizers));
  if (!patched) {
    return std::unexpected(
        runtime::ReconcileError{"adding the finalizer: " + patched.error().describe()});
  }
  return std::optional<web::json::value>(std::move(*patched));
}

const domain::Condition* readyOf(const std::vector<domain::Condition>& conditions) {
  return domain::findCondition(conditions, domain::kConditionReady);
}

void eventOnReadyTransition(const EventSink& events, const web::json::value& regarding,
                            const domain::Condition* before, const domain::Condition* after,
                            const std::vector<std::string_view>& normalReasons, bool forceEvent) {
  if (!events || after == nullptr) return;
  if (!forceEvent) {
    if (before != nullptr && before->status == after->status && before->reason == after->reason) {
      return;
    }
    // An object's first status saying Ready is its normal birth, recorded by the condition's
    // lastTransitionTime; an Event per object would double a cold start's writes. A first status
    // that is not Ready (a refusal, a backend failure) is worth an Event.
    if (before == nullptr && after->status == domain::ConditionStatus::True) return;
  }
  const bool normal =
      after->status == domain::ConditionStatus::True ||
      std::find(normalReasons.begin(), normalReasons.end(), after->reason) != normalReasons.end();
  events(regarding, normal ? runtime::EventType::Normal : runtime::EventType::Warning,
         after->reason, after->message);
}

std::string backendMessage(std::string_view what, const backend::BackendError& error) {
  return std::string(what) + ": " + error.message();
}

}  // namespace detail
}  // namespace billing::reconcilers
