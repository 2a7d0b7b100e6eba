// The meta/v1 schemas every group-version document references (ObjectMeta, ListMeta, Status,
// DeleteOptions, Patch and what they use), written for this server in kube's shapes and names
// ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta").
#pragma once

#include <cpprest/json.h>

namespace billing::apiserver {

// name -> schema, with references as "#/components/schemas/<name>" (v3) or
// "#/definitions/<name>" (v2).
web::json::value openApiMetaSchemas(bool v2);

}  // namespace billing::apiserver
