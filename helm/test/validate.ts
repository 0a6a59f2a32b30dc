import type { K8sObject } from './helm.js';

/** The kubernetes-models class of an object (Kubernetes 1.3x API, KEDA, prometheus-operator, cert-manager). */
export async function validate(obj: K8sObject): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/')
    ? obj.apiVersion.split('/')
    : ['', obj.apiVersion];
  let spec: string;
  if (group === 'keda.sh') spec = `@kubernetes-models/keda/keda.sh/${version}/${obj.kind}`;
  else if (group === 'monitoring.coreos.com')
    spec = `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${obj.kind}`;
  else if (group === 'cert-manager.io')
    spec = `@kubernetes-models/cert-manager/cert-manager.io/${version}/${obj.kind}`;
  else spec = `kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`;
  const mod = (await import(spec)) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = mod[obj.kind] ?? mod.default;
  if (!Model) throw new Error(`no model for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}
