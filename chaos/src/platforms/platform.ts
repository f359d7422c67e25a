import type { Fault, PartitionKind, TimelineEvent } from '../figures.js';

/** netns: the local platform with every process in its own network namespace (real partitions). */
export type PlatformName = 'local' | 'netns' | 'kubernetes';

export interface EventRecorder {
  all(): TimelineEvent[];
  close(): Promise<void>;
}

/**
 * What an experiment needs from where it runs. The local platform kills processes; the
 * Kubernetes one deletes pods. Experiments are written once against this.
 */
export interface Platform {
  readonly name: PlatformName;
  readonly topology: 'standalone' | 'sentinel' | 'cluster' | 'replicated';
  /** The ingress / Service URL the load goes through. */
  readonly baseUrl: string;
  /**
   * How long a trial may wait for the topology to be whole again (default 30 s). Kubernetes needs
   * longer: a recreated pod has a new IP, and cluster DNS may answer with the old one for up to
   * its cache TTL (30 s with CoreDNS's defaults), so the Sentinels reach it only after that.
   */
  readonly healthyTimeoutMs?: number;
  /** The bound on write/read recovery this platform's verdicts use (default RECOVERY_TOLERANCE_MS). */
  readonly recoveryToleranceMs?: number;
  /** Headers every load request carries (kubernetes: x-forwarded-proto when the runner stands in for the TLS edge). */
  readonly requestHeaders?: Readonly<Record<string, string>>;
  describe(): Record<string, unknown>;
  /** Sentinel events (+sdown, +odown, +switch-master, ...) with receive timestamps. */
  startEvents(): Promise<EventRecorder>;
  killPrimary(): Promise<Fault>;
  killReplica(): Promise<Fault>;
  killSentinel(): Promise<Fault>;
  killAppReplica(): Promise<Fault>;
  /**
   * Kill the primary and bring it back with an empty data dir (local only). Unguarded: straight
   * back, before Sentinel notices (the hazard). Guarded: the rule of the chart's init step (a node
   * without data that the sentinels still name waits for the failover and joins as a replica).
   */
  restartPrimaryEmpty(guarded?: boolean): Promise<Fault>;
  /** Cluster only: move slots of one shard to another under the load (live resharding); `slots`: ones to move too, where they are on that shard. */
  reshard?(slots: readonly number[]): Promise<Fault>;
  /** Cut the network as `kind` says (netns only); rollback() heals it. */
  partition(kind: PartitionKind): Promise<Fault>;
  /** After rollback and health, before the figures: complete what the fault records (the partition probe's survivors). */
  settle?(fault: Fault): Promise<void>;
  /** Undo the fault: restart the killed process (local) / wait for the controller to recreate the pod (kubernetes). */
  rollback(fault: Fault): Promise<void>;
  /** The store topology is whole again (Sentinel agrees, replicas linked) and every app replica is ready. */
  waitHealthy(timeoutMs: number): Promise<void>;
}

export class UnsupportedError extends Error {
  readonly code = 'UNSUPPORTED';
}
