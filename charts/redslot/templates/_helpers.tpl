{{/* Labels on every object of the chart. */}}
{{- define "redslot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: redslot
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: redslot
{{- end }}

{{/* Labels that select the operator pods (never change across upgrades). */}}
{{- define "redslot.operatorSelectorLabels" -}}
app.kubernetes.io/name: redslot
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The image running the operator (and by default the nodes). */}}
{{- define "redslot.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Cluster-scoped RBAC objects carry the namespace: several releases may share a cluster. */}}
{{- define "redslot.clusterRbacName" -}}
redslot-operator:{{ .Release.Namespace }}
{{- end }}
