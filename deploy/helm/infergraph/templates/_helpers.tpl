{{/* Names: <release>-infergraph, or the release name when it already says infergraph. */}}
{{- define "infergraph.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "infergraph.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: infergraph
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "gateway"). */}}
{{- define "infergraph.selector" -}}
app.kubernetes.io/name: infergraph-{{ .component }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end -}}

{{- define "infergraph.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "infergraph.clusterTokenSecret" -}}
{{- default (printf "%s-cluster-token" (include "infergraph.fullname" .)) .Values.clusterToken.existingSecret -}}
{{- end -}}

{{- define "infergraph.adminTokenSecret" -}}
{{- default (printf "%s-admin-token" (include "infergraph.fullname" .)) .Values.controller.adminToken.existingSecret -}}
{{- end -}}

{{/* host:port of the controller Service's control plane port. */}}
{{- define "infergraph.controllerAddress" -}}
{{- printf "%s-controller.%s.svc:9000" (include "infergraph.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* Where relative model paths resolve and what the path policy allows: the PVC mount, or the image's models. */}}
{{- define "infergraph.modelsDir" -}}
{{- if .Values.models.persistentVolumeClaim -}}/models{{- else -}}/app/models{{- end -}}
{{- end -}}

{{/* CONTROL_TLS_* of a component, from the controlTls Secret mounted at /etc/infergraph/control-tls. */}}
{{- define "infergraph.controlTlsEnv" -}}
- {name: CONTROL_TLS_CA, value: /etc/infergraph/control-tls/ca.crt}
- {name: CONTROL_TLS_CERT, value: /etc/infergraph/control-tls/tls.crt}
- {name: CONTROL_TLS_KEY, value: /etc/infergraph/control-tls/tls.key}
{{- end -}}

{{/* NODE_TLS_* of a gateway, from the nodeTls Secret mounted at /etc/infergraph/node-tls. */}}
{{- define "infergraph.nodeTlsEnv" -}}
- {name: NODE_TLS_CA, value: /etc/infergraph/node-tls/ca.crt}
- {name: NODE_TLS_CERT, value: /etc/infergraph/node-tls/tls.crt}
- {name: NODE_TLS_KEY, value: /etc/infergraph/node-tls/tls.key}
- {name: NODE_TLS_SERVER_NAME, value: {{ .Values.nodeTls.serverName | quote }}}
{{- end -}}

{{- define "infergraph.nodeTlsVolume" -}}
- name: node-tls
  secret:
    secretName: {{ .Values.nodeTls.existingSecret }}
    defaultMode: 0440
    items:
      - {key: ca.crt, path: ca.crt}
      - {key: tls.crt, path: tls.crt}
      - {key: tls.key, path: tls.key}
{{- end -}}

{{- define "infergraph.controlTlsVolume" -}}
- name: control-tls
  secret:
    secretName: {{ .Values.controlTls.existingSecret }}
    defaultMode: 0440
    items:
      - {key: ca.crt, path: ca.crt}
      - {key: tls.crt, path: tls.crt}
      - {key: tls.key, path: tls.key}
{{- end -}}

{{/* Non-root, read-only root filesystem, no privilege escalation, no capabilities (restricted Pod Security). */}}
{{- define "infergraph.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "infergraph.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* A random token kept across upgrades: the existing Secret's value when there is one. */}}
{{- define "infergraph.keptToken" -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .name -}}
{{- if and $existing $existing.data (index $existing.data "token") -}}
{{- index $existing.data "token" -}}
{{- else -}}
{{- randAlphaNum 48 | b64enc -}}
{{- end -}}
{{- end -}}
