export { KubeClient, type EventSubject, type ObjectList, type OpenWatch, type WatchEvent } from './kube.client';
export { KubeApiError, isKubeStatus } from './kube-api.error';
export { ResourceWatcher, type ResourceChange, type ResourceSource, type ResourceWatcherOptions } from './resource.watcher';
export { LeaseElector, type ElectorClock, type LeaseElectorOptions, type LeaseStore } from './lease.elector';
export { decideLease, leaseWrite, observeLease, type LeaseDecision, type LeaseObservation } from './lease.decision';
export type { KubeObject, LeaseRecord, ObjectMeta, OwnerReference, WatchedResource } from './kube.types';
