{{/* Object name of a services entry: Kubernetes names take no underscore. */}}
{{- define "flowmaster.name" -}}
{{- . | replace "_" "-" -}}
{{- end -}}

{{/* Selector labels of one service: (dict "root" $ "name" <service>). */}}
{{- define "flowmaster.selector" -}}
app.kubernetes.io/name: {{ include "flowmaster.name" .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* All labels of one service's objects. */}}
{{- define "flowmaster.labels" -}}
{{ include "flowmaster.selector" . }}
app.kubernetes.io/component: app
app.kubernetes.io/part-of: flowmaster
app.kubernetes.io/version: {{ .root.Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* Labels of release-wide objects (network policies, migration). */}}
{{- define "flowmaster.commonLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: flowmaster
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "flowmaster.image" -}}
{{ printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end -}}

{{/* Where the settings file and the secret files are mounted. */}}
{{- define "flowmaster.settingsDir" -}}/etc/flowmaster/settings{{- end -}}
{{- define "flowmaster.secretsDir" -}}/etc/flowmaster/secrets{{- end -}}
{{- define "flowmaster.kafkaCaDir" -}}/etc/flowmaster/kafka-ca{{- end -}}

{{/* The restricted Pod Security Standard, for the pod. */}}
{{- define "flowmaster.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.fsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* ... and for the container. */}}
{{- define "flowmaster.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* The app container's environment: the settings file and one FM_<SETTING>_FILE per secret setting. */}}
{{- define "flowmaster.env" -}}
- name: FM_SETTINGS_FILE
  value: {{ include "flowmaster.settingsDir" . }}/settings.yaml
{{- range .Values.credentials.settings }}
- name: {{ printf "FM_%s_FILE" (upper .setting) }}
  value: {{ include "flowmaster.secretsDir" $ }}/{{ .setting }}
{{- end }}
{{- if .Values.kafkaCa.existingSecret }}
- name: FM_KAFKA_SSL_CA_FILE
  value: {{ include "flowmaster.kafkaCaDir" . }}/ca.crt
{{- end }}
{{- end -}}

{{/* Mounts and volumes shared by the services and the migration Job: (dict "root" $ "configMap" <name>). */}}
{{- define "flowmaster.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: settings
  mountPath: {{ include "flowmaster.settingsDir" . }}
  readOnly: true
- name: secrets
  mountPath: {{ include "flowmaster.secretsDir" . }}
  readOnly: true
{{- if .Values.kafkaCa.existingSecret }}
- name: kafka-ca
  mountPath: {{ include "flowmaster.kafkaCaDir" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "flowmaster.volumes" -}}
- name: tmp
  emptyDir: {}
- name: settings
  configMap:
    name: {{ .configMap }}
- name: secrets
  secret:
    secretName: {{ .root.Values.credentials.existingSecret }}
    # Readable by the pod's group (fsGroup) only.
    defaultMode: 0440
    items:
{{- range .root.Values.credentials.settings }}
      - key: {{ .key }}
        path: {{ .setting }}
{{- end }}
{{- with .root.Values.kafkaCa }}
{{- if .existingSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .existingSecret }}
    items:
      - key: {{ .key }}
        path: ca.crt
{{- end }}
{{- end }}
{{- end -}}
