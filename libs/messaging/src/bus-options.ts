import { readFileSync } from 'node:fs';
import { AppError } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import type { Registry } from 'prom-client';

export interface BusOptions {
  /** NATS server URL(s), comma-separated for a cluster. */
  url: string;
  /** Client name shown by the server, and the default RPC queue group (the service name). */
  name: string;
  /** Namespace prefix for every subject (tests and benchmarks); include the trailing dot. */
  subjectPrefix?: string;
  /** Namespace suffix for every stream and durable name. */
  nameSuffix?: string;
  logger?: Logger;
  /** Default request timeout; 5000 ms. */
  requestTimeoutMs?: number;
  /** How long a JetStream publish waits for its ack; 5000 ms. */
  publishTimeoutMs?: number;
  /**
   * JetStream replicas of the streams this bus creates (3 on a clustered NATS; NATS_STREAM_REPLICAS);
   * default 1. An existing stream with fewer is raised to it; one with more keeps them.
   */
  streamReplicas?: number;
  /** How long close() waits for handlers in flight; 10 s. */
  closeGraceMs?: number;
  /**
   * The service's Prometheus registry: RPC handler latency (`orgmesh_rpc_server_duration_seconds`)
   * and consumer redeliveries (`orgmesh_consumer_redeliveries_total`) are recorded there.
   */
  metrics?: Registry;
  /** Send what the connection writes in one event-loop turn as one socket write (coalesceWrites); default true. */
  coalesceWrites?: boolean;
  /**
   * The server never delivers this connection's own messages to its own core subscriptions
   * (NATS `no_echo`): for a service that listens to the events it publishes only to learn what
   * OTHER replicas did. JetStream deliveries and replies are not affected. Default false.
   */
  noEcho?: boolean;
  /**
   * The file holding this identity's NKey seed (`orgmesh nats-config`, ADR 0011): the connection
   * authenticates with it, and its replies and JetStream deliveries come under
   * `_INBOX.<identity>.`, the only inbox its permissions let it subscribe to. Unset: an anonymous
   * connection with the default `_INBOX.` (an open development server).
   */
  nkeySeedFile?: string;
  /** The bus identity the seed belongs to (its inbox token); default `name`. */
  identity?: string;
  /**
   * PEM file of the CA that signed the NATS servers' certificate (`NATS_TLS_CA_FILE`): the
   * connection then requires TLS and trusts only that CA. See natsTlsOptions.
   */
  tlsCaFile?: string | undefined;
}

/** The bus keys of a process's config (libs/config natsEnv), as its schema parsed them. */
export interface NatsConfigKeys {
  NATS_URL: string;
  NATS_NKEY_SEED_FILE?: string | undefined;
  NATS_TLS_CA_FILE?: string | undefined;
  NATS_SUBJECT_PREFIX?: string | undefined;
  NATS_NAME_SUFFIX?: string | undefined;
  NATS_STREAM_REPLICAS?: number | undefined;
}

/**
 * The connection options a process's bus keys say (connectBus adds its name and the rest): every
 * process reads NATS_URL, its seed, the TLS CA, the namespace and the stream replicas the same way.
 */
export function busOptionsFromConfig(
  config: NatsConfigKeys,
): Pick<
  BusOptions,
  'url' | 'nkeySeedFile' | 'tlsCaFile' | 'subjectPrefix' | 'nameSuffix' | 'streamReplicas'
> {
  return {
    url: config.NATS_URL,
    ...(config.NATS_NKEY_SEED_FILE ? { nkeySeedFile: config.NATS_NKEY_SEED_FILE } : {}),
    ...(config.NATS_TLS_CA_FILE ? { tlsCaFile: config.NATS_TLS_CA_FILE } : {}),
    ...(config.NATS_SUBJECT_PREFIX ? { subjectPrefix: config.NATS_SUBJECT_PREFIX } : {}),
    ...(config.NATS_NAME_SUFFIX ? { nameSuffix: config.NATS_NAME_SUFFIX } : {}),
    ...(config.NATS_STREAM_REPLICAS ? { streamReplicas: config.NATS_STREAM_REPLICAS } : {}),
  };
}

/**
 * The client's TLS options. nats.js ignores a URL's scheme and would talk plaintext to a server
 * that offers no TLS even under `tls://`; so a `tls://` URL or a CA file turns TLS into a
 * requirement (an empty options object is the client's "TLS only"). The CA file, when given, is
 * read by the client at each (re)connect, so a renewed bundle is picked up without a restart.
 */
export function natsTlsOptions(url: string, caFile?: string): { caFile?: string } | undefined {
  if (caFile) return { caFile };
  const servers = url.split(',').map((s) => s.trim().toLowerCase());
  return servers.some((s) => s.startsWith('tls://')) ? {} : undefined;
}

/** The NKey seed in a seed file (whitespace and `#` comment lines ignored), refusing anything else. */
export function readNkeySeed(path: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AppError('unavailable', `cannot read the NATS seed file ${path}`, { cause: error });
  }
  const seed = text
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line !== '' && !line.startsWith('#'));
  // A user seed: never echo the content, it is the credential.
  if (!seed || !/^SU[A-Z2-7]{56}$/.test(seed))
    throw new AppError('validation_failed', `${path} holds no NATS user seed (SU…)`);
  return new TextEncoder().encode(seed);
}

/**
 * A missing CA file is a deployment mistake: refuse at startup with the path, rather than let the
 * client retry a failing TLS handshake forever (waitOnFirstConnect).
 */
export function assertReadable(path: string): void {
  try {
    readFileSync(path);
  } catch (error) {
    throw new AppError('unavailable', `cannot read the NATS TLS CA file ${path}`, { cause: error });
  }
}
