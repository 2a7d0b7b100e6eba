#!/usr/bin/env bash
# The one-command local demo (docs/demo.md): installs what it needs, builds, starts a local
# Kubernetes API (test-apiserver), the billing ledger on SQLite and the operator with its admission
# webhook registered, applies the CRDs and examples/gitops with the real kubectl, posts sample
# charges, closes yesterday's period of a daily billing group and prints the result: the billing
# objects, the consolidated invoice as a table and as CSV. Then it stops everything it started,
# also on failure and Ctrl-C, unless --keep-running.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/demo.sh [--no-build] [--bin-dir DIR] [--keep-running]

  --no-build      skip scripts/install-deps.sh and scripts/build.sh; use the binaries already built
  --bin-dir DIR   where test-apiserver, billing-ledger and billing-operator are (default build/bin)
  --keep-running  leave the API server, ledger and operator running at the end and print how to
                  use them with kubectl and how to stop them
  -h, --help      show this help

Exit status: 0 when the invoice was produced, 1 on any failure (the failing process's log is
shown), 2 for bad arguments, 130 on Ctrl-C.
EOF
}

repo="$(cd "$(dirname "$0")/.." && pwd)"
build=yes
keep_running=""
bin_dir="$repo/build/bin"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build="" ;;
    --keep-running) keep_running=yes ;;
    --bin-dir)
      [ $# -ge 2 ] || { echo "demo: --bin-dir needs a directory" >&2; exit 2; }
      bin_dir="$(cd "$2" 2>/dev/null && pwd)" || { echo "demo: --bin-dir $2: no such directory" >&2; exit 2; }
      shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "demo: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
cd "$repo"

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }

# ---- processes and cleanup ------------------------------------------------------------------

work=""
names=()    # started processes, in start order
pids=()
logs=()
failed_component=""  # whose log to show when the demo fails
finished=""

log_of() {
  local i
  for i in "${!names[@]}"; do
    if [ "${names[$i]}" = "$1" ]; then echo "${logs[$i]}"; fi
  done
}

show_log() {
  local name="$1" file
  file="$(log_of "$name")"
  [ -n "$file" ] && [ -s "$file" ] || return 0
  echo "---- last 60 lines of the $name log ($file) ----" >&2
  tail -n 60 "$file" >&2
  echo "---- end of the $name log ----" >&2
}

# Stops what the demo started, newest first, each with SIGTERM and up to 15 s before SIGKILL.
stop_all() {
  local i pid waited
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid="${pids[$i]}"
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 150 ]; do sleep 0.1; waited=$((waited + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
      echo "demo: ${names[$i]} (pid $pid) did not stop within 15 s of SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local status=$? i
  trap - EXIT INT TERM
  # Whatever fails from here on, every process must still be stopped.
  set +e
  if [ "$status" -ne 0 ] && [ -z "$finished" ]; then
    # A process that died on its own is the most likely culprit: show its log first.
    for i in "${!pids[@]}"; do
      if ! kill -0 "${pids[$i]}" 2>/dev/null; then
        echo "demo: ${names[$i]} (pid ${pids[$i]}) is not running any more" >&2
        [ "${names[$i]}" = "$failed_component" ] || show_log "${names[$i]}"
      fi
    done
    [ -n "$failed_component" ] && show_log "$failed_component"
  fi
  if [ -n "$keep_running" ] && [ -n "$finished" ]; then
    exit "$status"
  fi
  if [ "${#pids[@]}" -gt 0 ]; then
    echo
    echo "==> Stopping what the demo started"
    stop_all
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do info "stopped ${names[$i]} (pid ${pids[$i]})"; done
  fi
  if [ -n "$work" ]; then
    case "$status" in
      0 | 130 | 143) rm -rf "$work" ;;  # done, or stopped by the user: nothing to look into
      *) echo "demo: failed (exit $status); logs and state kept in $work" >&2 ;;
    esac
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

die() {
  echo "demo: error: $*" >&2
  exit 1
}

# Starts NAME in its own session (so that Ctrl-C reaches only this script, which then stops the
# processes in order) with output to its log file.
start() {
  local name="$1"
  shift
  local log="$work/logs/$name.log"
  setsid "$@" >"$log" 2>&1 </dev/null &
  names+=("$name")
  pids+=("$!")
  logs+=("$log")
  info "started $name (pid $!), log $log"
}

alive() {
  local i
  for i in "${!names[@]}"; do
    if [ "${names[$i]}" = "$1" ]; then kill -0 "${pids[$i]}" 2>/dev/null; return; fi
  done
  return 1
}

# Waits up to SECONDS for COMMAND to succeed while NAME keeps running.
wait_for() {
  local name="$1" seconds="$2" what="$3"
  shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    alive "$name" || { failed_component="$name"; die "$name exited while waiting for $what"; }
    [ "$SECONDS" -lt "$deadline" ] || { failed_component="$name"; die "$what: not within ${seconds}s"; }
    sleep 0.2
  done
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port VAR: sets VAR to a port nothing listens on now. The ports come from below the kernel's
# ephemeral range: a port there may be the local end of some outgoing connection (kubectl's, say),
# which a listener cannot bind although nothing listens on it. Another program could still take
# the port before ours binds it; the demo then fails with "address already in use" in that log.
taken_ports=" "
webhook_port="" ledger_port="" metrics_port="" health_port=""
ephemeral_low="$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
[ "$ephemeral_low" -gt 11024 ] 2>/dev/null || ephemeral_low=32768
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((10000 + (RANDOM * 32768 + RANDOM) % (ephemeral_low - 10000)))
    case "$taken_ports" in *" $port "*) continue ;; esac
    if ! port_in_use "$port"; then
      taken_ports+="$port "
      printf -v "$1" '%s' "$port"
      return
    fi
  done
  die "no free TCP port found on 127.0.0.1"
}

# ---- 1. dependencies and build --------------------------------------------------------------

if [ -n "$build" ]; then
  step "Installing dependencies and building (scripts/build.sh, which runs scripts/install-deps.sh)"
  scripts/build.sh
fi
for binary in test-apiserver billing-ledger billing-operator; do
  [ -x "$bin_dir/$binary" ] || die "$bin_dir/$binary not found: build first (scripts/build.sh) or pass --bin-dir"
done
for tool in kubectl curl jq setsid column; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh (kubectl: install it from https://kubernetes.io/docs/tasks/tools/)"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/billing-demo.XXXXXX")"
mkdir -p "$work/logs"
export KUBECONFIG="$work/kubeconfig"
kubectl=(kubectl --cache-dir "$work/kube-cache")

# ---- 2. the cluster, the ledger, the operator -----------------------------------------------

# The cluster's clock runs two days behind: objects it creates now carry a creationTimestamp of
# two days ago, so the projects have been billable since then and yesterday is a whole, ended
# Daily period that can be invoiced (docs/demo.md, "Why the cluster's clock is shifted").
clock_offset=-48h
free_port webhook_port
step "Starting the local Kubernetes API (test-apiserver, clock offset $clock_offset)"
start test-apiserver "$bin_dir/test-apiserver" --port 0 --kubeconfig "$KUBECONFIG" \
  --clock-offset "$clock_offset" \
  --service-endpoint "billing-system/billing-operator-webhook:443=$webhook_port"
wait_for test-apiserver 30 "the API server's kubeconfig" test -s "$KUBECONFIG"
info "kubeconfig: $KUBECONFIG ($(sed -n 's/^ *server: //p' "$KUBECONFIG" | head -n 1))"

free_port ledger_port
ledger_url="http://127.0.0.1:$ledger_port"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/ledger.token"
chmod 600 "$work/ledger.token"
ledger_auth=(-H "Authorization: Bearer $(cat "$work/ledger.token")")
step "Starting the billing ledger on SQLite ($ledger_url)"
start billing-ledger "$bin_dir/billing-ledger" --listen "127.0.0.1:$ledger_port" \
  --database "sqlite:$work/ledger.db" --token-file "$work/ledger.token" --log-format text
wait_for billing-ledger 30 "the ledger's /healthz" curl -fsS "$ledger_url/healthz"

step "Installing the CRDs (kubectl apply -f crds/)"
"${kubectl[@]}" apply -f crds/
"${kubectl[@]}" wait --for condition=Established --timeout 60s -f crds/ >/dev/null

# The operator's namespace, the webhook's Service and the ValidatingWebhookConfiguration, from the
# manifests a real install applies (deploy/, rendered from the Helm chart). The configuration has
# no caBundle: the operator generates the webhook's CA and certificate and fills it in, as in a
# cluster. The API server reaches the Service on the operator's local port (--service-endpoint).
step "Installing the operator's namespace and webhook registration (deploy/namespace.yaml, deploy/webhook.yaml)"
"${kubectl[@]}" apply -f deploy/namespace.yaml -f deploy/webhook.yaml

free_port metrics_port
free_port health_port
step "Starting the operator (billing-operator run)"
# --invoice-grace 24h: yesterday's period is due for closing only tomorrow, so the operator does
# not close it on its own before the sample charges below are posted; the demo closes it early,
# as a user can, with an Invoice with spec.finalize: true.
# The flags of deploy/deployment.yaml, with local ports and directories.
start billing-operator "$bin_dir/billing-operator" run --kubeconfig "$KUBECONFIG" \
  --leader-elect --leader-election-namespace billing-system \
  --metrics-bind-address "127.0.0.1:$metrics_port" \
  --health-probe-bind-address "127.0.0.1:$health_port" \
  --webhook-port "$webhook_port" --webhook-cert-dir "$work/webhook-certs" \
  --webhook-cert-generate --webhook-service-name billing-operator-webhook \
  --webhook-service-namespace billing-system \
  --webhook-cert-secret-name billing-operator-webhook-cert \
  --webhook-configuration-name billing-operator \
  --ledger-url "$ledger_url" --ledger-token-file "$work/ledger.token" \
  --invoice-grace 24h --log-format text
wait_for billing-operator 60 "the operator's /readyz" curl -fsS "http://127.0.0.1:$health_port/readyz"
ca_bundle() {
  "${kubectl[@]}" get validatingwebhookconfiguration billing-operator \
    -o jsonpath='{.webhooks[0].clientConfig.caBundle}' | base64 -d >"$work/webhook-ca.crt" &&
    [ -s "$work/webhook-ca.crt" ]
}
wait_for billing-operator 60 "the webhook configuration's caBundle (filled in by the operator)" ca_bundle
# The API server dials billing-operator-webhook.billing-system.svc and checks the certificate
# against that name and the caBundle; so does this probe.
webhook_host=billing-operator-webhook.billing-system.svc
wait_for billing-operator 60 "the webhook's certificate, trusted through the caBundle" \
  curl -fsS --cacert "$work/webhook-ca.crt" --resolve "$webhook_host:$webhook_port:127.0.0.1" \
  "https://$webhook_host:$webhook_port/healthz"
info "metrics http://127.0.0.1:$metrics_port/metrics, probes http://127.0.0.1:$health_port/readyz"
info "webhook https://127.0.0.1:$webhook_port/validate; the operator set its caBundle in ValidatingWebhookConfiguration billing-operator"

# ---- 3. the GitOps folder -------------------------------------------------------------------

# examples/gitops as it is, through a kustomize overlay that makes one group invoice daily (the
# examples invoice monthly and weekly; a demo cannot wait for a month to end).
overlay="$work/gitops-overlay"
mkdir -p "$overlay"
cat >"$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$overlay" "$repo/examples/gitops")
patches:
  - target: {group: billing.operator.dev, kind: BillingGroup, name: vision-billing, namespace: globex-ml}
    patch: |-
      - op: replace
        path: /spec/invoicing/period
        value: Daily
EOF
step "Applying examples/gitops (kubectl apply -k, overlay: vision-billing invoices Daily)"
failed_component=billing-operator  # the webhook answers these writes
"${kubectl[@]}" apply -f examples/gitops/namespaces.yaml
"${kubectl[@]}" apply -k "$overlay"

step "Waiting for every billing group and project to be Ready (kubectl wait)"
"${kubectl[@]}" wait --for condition=Ready --timeout 90s billinggroups,projects --all -A

# ---- 4. usage charges -----------------------------------------------------------------------

today="$(date -u +%Y-%m-%d)"
yesterday="$(date -u -d "$today - 1 day" +%Y-%m-%d)"
period_start="${yesterday}T00:00:00Z"
period_end="${today}T00:00:00Z"

# A charge can only be posted for time its project belongs to a billing group at the ledger; the
# operator records each membership when it reconciles the project.
wait_membership() {
  local project="$1" deadline=$((SECONDS + 60))
  until curl -fsS "${ledger_auth[@]}" -G --data-urlencode "project=$project" \
    "$ledger_url/v1/memberships" 2>/dev/null | jq -e '.items | length > 0' >/dev/null; do
    alive billing-operator || die "the operator exited before recording $project at the ledger"
    [ "$SECONDS" -lt "$deadline" ] || die "the operator did not record $project's membership at the ledger within 60s"
    sleep 0.2
  done
}

# The currency of the billing group the project belongs to, as the operator reports it.
currency_of() {
  local group
  group="$("${kubectl[@]}" get project "${1#*/}" -n "${1%%/*}" \
    -o jsonpath='{.status.billingGroup.namespace}/{.status.billingGroup.name}')"
  "${kubectl[@]}" get billinggroup "${group#*/}" -n "${group%%/*}" -o jsonpath='{.spec.currency}'
}

# post_charge PROJECT SERVICE DESCRIPTION QUANTITY UNIT AMOUNT: a charge for yesterday, in the
# currency of the project's billing group (the sample amounts have two decimals, which suits the
# examples' EUR and USD).
post_charge() {
  local project="$1" service="$2" client_id body status currency
  currency="$(currency_of "$project")"
  [ -n "$currency" ] || die "no billing group currency for project $project"
  client_id="demo-$yesterday-${project//\//-}-$service"
  body="$(jq -n --arg clientId "$client_id" --arg project "$project" --arg service "$service" \
    --arg description "$3" --arg quantity "$4" --arg unit "$5" --arg amount "$6" \
    --arg currency "$currency" --arg periodStart "$period_start" --arg periodEnd "$period_end" \
    '{clientId: $clientId, project: $project, service: $service, description: $description,
      quantity: $quantity, unit: $unit, amount: $amount, currency: $currency,
      periodStart: $periodStart, periodEnd: $periodEnd}')"
  status="$(curl -sS -o "$work/charge.json" -w '%{http_code}' "${ledger_auth[@]}" \
    -H "Content-Type: application/json" -H "Idempotency-Key: $client_id" \
    --data "$body" "$ledger_url/v1/charges")" || die "POST /v1/charges: the ledger did not answer"
  case "$status" in
    200 | 201) printf '    %-20s %-9s %10s %s  %s\n' "$project" "$service" "$6" "$currency" "$3" ;;
    *)
      failed_component=billing-ledger
      die "POST /v1/charges for $project answered $status: $(cat "$work/charge.json")" ;;
  esac
}

step "Posting sample charges for $yesterday to the ledger (POST /v1/charges, Idempotency-Key)"
for project in acme-web/web acme-web/api acme-data/warehouse acme-data/research \
  globex/shop globex-ml/vision globex-ml/speech; do
  wait_membership "$project"
done
post_charge globex-ml/vision compute "GPU nodes (A100)" 48 GPU-hours 1843.20
post_charge globex-ml/vision storage "Training datasets" 2048 GiB-days 13.65
post_charge globex-ml/speech compute "CPU nodes" 192 vCPU-hours 7.68
post_charge globex-ml/speech egress "Model downloads" 310 GiB 27.90
post_charge globex/shop compute "Web servers" 96 vCPU-hours 3.84
post_charge acme-web/web compute "Storefront nodes" 144 vCPU-hours 5.04
post_charge acme-web/api requests "API requests" 12000000 requests 24.00
post_charge acme-data/warehouse storage "Warehouse tables" 5120 GiB-days 34.13
post_charge acme-data/research compute "HPC partition" 640 core-hours 19.20

# ---- 5. closing yesterday's period ----------------------------------------------------------

invoice="vision-billing-$yesterday"  # the name the operator itself gives this period's Invoice
step "Closing yesterday's period of globex-ml/vision-billing: Invoice $invoice with spec.finalize: true"
failed_component=billing-operator
"${kubectl[@]}" apply -f - <<EOF
apiVersion: billing.operator.dev/v1alpha1
kind: Invoice
metadata:
  name: $invoice
  namespace: globex-ml
spec:
  billingGroupRef:
    name: vision-billing
  periodStart: "$period_start"
  periodEnd: "$period_end"
  finalize: true
EOF
"${kubectl[@]}" wait --for jsonpath='{.status.state}'=Finalized --timeout 60s -n globex-ml \
  "invoice/$invoice"
"${kubectl[@]}" wait --for condition=Ready --timeout 30s -n globex-ml "invoice/$invoice"

# ---- 6. what there is to see ----------------------------------------------------------------

step "kubectl get billinggroups,projects,invoices -A"
"${kubectl[@]}" get billinggroups,projects,invoices -A

backend_id="$("${kubectl[@]}" get invoice "$invoice" -n globex-ml -o jsonpath='{.status.backendInvoiceId}')"
[ -n "$backend_id" ] || die "Invoice globex-ml/$invoice is Finalized but has no status.backendInvoiceId"
failed_component=billing-ledger
curl -fsS "${ledger_auth[@]}" "$ledger_url/v1/invoices/$backend_id/lines" >"$work/lines.json" ||
  die "GET /v1/invoices/$backend_id/lines failed"
curl -fsS "${ledger_auth[@]}" "$ledger_url/v1/invoices/$backend_id/lines?format=csv" >"$work/lines.csv" ||
  die "GET /v1/invoices/$backend_id/lines?format=csv failed"

step "The consolidated invoice of globex-ml/vision-billing for $yesterday"
jq -r '"    Invoice \(.number) (\(.state)), \(.accountName // .accountId), organization \(.organization // "-")",
       "    Period  \(.periodStart) .. \(.periodEnd) (end exclusive), currency \(.currency)"' \
  "$work/lines.json"
echo
{
  printf 'PROJECT\tSERVICE\tDESCRIPTION\tQUANTITY\tUNIT\tAMOUNT\n'
  jq -r '.lines | sort_by(.project, .service)[] |
         [.project, .service, (.description // ""), (.quantity // ""), (.unit // ""), .amount] |
         @tsv' "$work/lines.json"
  printf '\t\t\t\t\t\n'
  "${kubectl[@]}" get invoice "$invoice" -n globex-ml -o json |
    jq -r '.status.projectTotals[] | ["total " + .project, "", "", "", "", .amount] | @tsv'
  jq -r '["subtotal", "", "", "", "", .subtotal], ["credits applied", "", "", "", "", .creditsApplied],
         ["TOTAL DUE", "", "", "", "", (.total + " " + .currency)] | @tsv' "$work/lines.json"
} | column -t -s $'\t' -R 4,6 | sed 's/^/    /'

step "The same invoice as CSV (GET /v1/invoices/$backend_id/lines?format=csv)"
tr -d '\r' <"$work/lines.csv"

finished=yes
if [ -n "$keep_running" ]; then
  # Newest first, as the EXIT trap does; a pid is only signalled while its command line still
  # names this demo's directory, so a pid reused by another program after a reboot is left alone.
  reversed=()
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do reversed+=("${pids[$i]}"); done
  cat >"$work/stop.sh" <<EOF
#!/usr/bin/env bash
# Stops what scripts/demo.sh --keep-running left running and removes its directory.
ours() { tr '\\0' ' ' <"/proc/\$1/cmdline" 2>/dev/null | grep -qF "$work"; }
for pid in ${reversed[*]}; do
  ours "\$pid" || continue
  kill -TERM "\$pid"
  for _ in \$(seq 1 150); do ours "\$pid" || break; sleep 0.1; done
  if ours "\$pid"; then kill -KILL "\$pid"; fi
done
rm -rf "$work"
echo "demo stopped"
EOF
  chmod +x "$work/stop.sh"
  step "Still running (--keep-running)"
  for i in "${!names[@]}"; do info "${names[$i]}: pid ${pids[$i]}, log ${logs[$i]}"; done
  info "ledger: $ledger_url (token in $work/ledger.token)"
  echo
  info "export KUBECONFIG=$KUBECONFIG"
  info "kubectl get billing -A"
  info "kubectl describe billinggroup vision-billing -n globex-ml"
  echo
  info "Stop everything with: $work/stop.sh"
else
  step "Done: the demo produced invoice $invoice"
fi
