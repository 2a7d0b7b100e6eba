{{/* Names and labels shared by every template. */}}

{{- define "billing-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the release name when it already contains the chart's. */}}
{{- define "billing-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "billing-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "billing-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "billing-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "billing-operator.labels" -}}
helm.sh/chart: {{ include "billing-operator.chart" . }}
{{ include "billing-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: billing-operator
{{- end }}

{{- define "billing-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "billing-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "billing-operator.webhookServiceName" -}}
{{- printf "%s-webhook" (include "billing-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "billing-operator.webhookCertSecretName" -}}
{{- if eq .Values.webhook.certificates.mode "secret" }}
{{- required "webhook.certificates.secretName is required with mode secret" .Values.webhook.certificates.secretName }}
{{- else }}
{{- printf "%s-webhook-cert" (include "billing-operator.fullname" .) }}
{{- end }}
{{- end }}

{{- define "billing-operator.ledgerName" -}}
{{- printf "%s-ledger" (include "billing-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The ledger URL the operator uses: the chart's ledger, else ledger.url (may be empty). */}}
{{- define "billing-operator.ledgerUrl" -}}
{{- if .Values.billingLedger.enabled }}
{{- printf "http://%s.%s.svc:%v" (include "billing-operator.ledgerName" .) .Release.Namespace .Values.billingLedger.port }}
{{- else }}
{{- .Values.ledger.url }}
{{- end }}
{{- end }}

{{/* The Secret with the ledger token the operator presents, if any. */}}
{{- define "billing-operator.ledgerTokenSecret" -}}
{{- if .Values.billingLedger.enabled }}
{{- if not .Values.billingLedger.auth.disabled }}
{{- required "billingLedger.auth.tokenSecret is required (or set billingLedger.auth.disabled)" .Values.billingLedger.auth.tokenSecret }}
{{- end }}
{{- else }}
{{- .Values.ledger.tokenSecret }}
{{- end }}
{{- end }}
