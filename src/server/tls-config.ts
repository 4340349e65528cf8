/**
 * TLS settings shared by every encrypted listener: PEM files for the certificate, its key and the
 * CA that client certificates must chain to, Kafka's ssl.client.auth, and the principal mapping.
 * resolveTlsOptions checks the options; loadTlsServerOptions reads the files into what
 * tls.createServer (or https.createServer) and Server.setSecureContext take, so a reload re-reads
 * them; once a handshake is done, tlsClientPrincipal checks the client certificate and names the
 * principal. TLS 1.2 and 1.3 only.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type TLSSocket, type TlsOptions as NodeTlsOptions } from 'node:tls';
import { InvalidConfigError } from '../errors.js';
import { ANONYMOUS_PRINCIPAL } from './authorizer.js';
import { SslPrincipalMapper, subjectDistinguishedName } from './ssl-principal.js';

/** Kafka's ssl.client.auth: whether a client certificate is asked for, and whether one is required. */
export type ClientAuth = 'none' | 'requested' | 'required';
export const CLIENT_AUTH_MODES: readonly ClientAuth[] = ['none', 'requested', 'required'];

export interface TlsOptions {
  /** PEM certificate chain of the server (Kafka's ssl.keystore, certificate part). */
  certFile: string;
  /** PEM private key of the certificate, unencrypted. */
  keyFile: string;
  /** PEM CA certificates client certificates must chain to (Kafka's ssl.truststore); needed unless clientAuth is none. */
  caFile?: string;
  /**
   * none: no client certificate is asked for; requested: one is asked for and, when sent, must be
   * valid; required: a connection without a valid one is closed (Kafka's ssl.client.auth).
   */
  clientAuth?: ClientAuth;
  /** Kafka's ssl.principal.mapping.rules, e.g. "RULE:^CN=(.*?),.*$/$1/L,DEFAULT"; default DEFAULT. */
  principalMappingRules?: string;
  /** A TLS handshake not finished this long after the connection opened is closed. */
  handshakeTimeoutMs?: number;
}

export interface ResolvedTlsOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string | null;
  readonly clientAuth: ClientAuth;
  readonly principalMapper: SslPrincipalMapper;
  readonly handshakeTimeoutMs: number;
}

/** As Kafka clients' socket.connection.setup.timeout.ms default (10 s): long enough for any honest peer. */
export const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

const KNOWN_KEYS = ['certFile', 'keyFile', 'caFile', 'clientAuth', 'principalMappingRules', 'handshakeTimeoutMs'];

export function resolveTlsOptions(options: TlsOptions): ResolvedTlsOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidConfigError('tls must be { certFile, keyFile, caFile?, clientAuth?: "none" | "requested" | "required", principalMappingRules? }');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.includes(key)) throw new InvalidConfigError(`unknown tls option "${key}"; known options are ${KNOWN_KEYS.join(', ')}`);
  }
  for (const key of ['certFile', 'keyFile'] as const) {
    if (typeof options[key] !== 'string' || options[key].length === 0) throw new InvalidConfigError(`tls.${key} must be the path of a PEM file`);
  }
  const caFile = options.caFile ?? null;
  if (caFile !== null && (typeof caFile !== 'string' || caFile.length === 0)) throw new InvalidConfigError('tls.caFile must be the path of a PEM file');
  const clientAuth = options.clientAuth ?? 'none';
  if (!CLIENT_AUTH_MODES.includes(clientAuth)) {
    throw new InvalidConfigError(`tls.clientAuth must be one of ${CLIENT_AUTH_MODES.join(', ')}, got ${JSON.stringify(clientAuth)}`);
  }
  if (clientAuth !== 'none' && caFile === null) {
    throw new InvalidConfigError(`tls.clientAuth ${clientAuth} needs tls.caFile: the CA client certificates must chain to`);
  }
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS;
  if (!Number.isInteger(handshakeTimeoutMs) || handshakeTimeoutMs < 1 || handshakeTimeoutMs > 0x7fff_ffff) {
    throw new InvalidConfigError(`tls.handshakeTimeoutMs must be an integer from 1 to ${0x7fff_ffff}, got ${String(handshakeTimeoutMs)}`);
  }
  const resolved: ResolvedTlsOptions = Object.freeze({
    certFile: options.certFile,
    keyFile: options.keyFile,
    caFile,
    clientAuth,
    principalMapper: new SslPrincipalMapper(options.principalMappingRules ?? 'DEFAULT'),
    handshakeTimeoutMs,
  });
  // The files are read now, so a wrong path or a key that does not fit fails at configuration.
  loadTlsServerOptions(resolved);
  return resolved;
}

/**
 * The files read into options for tls.createServer, https.createServer or setSecureContext.
 * A client certificate is asked for unless clientAuth is none, but never verified by the TLS
 * layer itself: the listener checks `authorized` after the handshake, so a refused certificate
 * gets a log line naming why instead of a silent reset.
 */
export function loadTlsServerOptions(tls: ResolvedTlsOptions): NodeTlsOptions {
  const options: NodeTlsOptions = {
    cert: readPem(tls.certFile, 'certFile'),
    key: readPem(tls.keyFile, 'keyFile'),
    ...(tls.caFile === null ? {} : { ca: readPem(tls.caFile, 'caFile') }),
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    requestCert: tls.clientAuth !== 'none',
    rejectUnauthorized: false,
  };
  try {
    createSecureContext(options);
  } catch (error) {
    throw new InvalidConfigError(`tls: ${tls.certFile} and ${tls.keyFile} do not make a usable certificate: ${(error as Error).message}`);
  }
  return options;
}

/**
 * After the handshake: the client certificate checked against clientAuth (one that does not verify
 * is refused whenever one was asked for, as a Java SSLEngine refuses it; none at all only under
 * required), and Kafka's principal: "User:" + the mapped subject, or User:ANONYMOUS without a
 * certificate. A refusal names the reason, for the log line of the closed connection.
 */
export function tlsClientPrincipal(socket: TLSSocket, tls: ResolvedTlsOptions): { principal: string } | { refused: string } {
  if (tls.clientAuth === 'none') return { principal: ANONYMOUS_PRINCIPAL };
  const certificate = socket.getPeerX509Certificate();
  if (certificate === undefined) {
    return tls.clientAuth === 'required' ? { refused: 'no client certificate, and clientAuth is required' } : { principal: ANONYMOUS_PRINCIPAL };
  }
  if (!socket.authorized) {
    return { refused: `client certificate refused: ${String(socket.authorizationError)} (subject ${certificate.subject.replaceAll('\n', ', ')})` };
  }
  let name: string;
  try {
    name = subjectDistinguishedName(certificate.raw);
  } catch (error) {
    return { refused: `client certificate subject unreadable: ${(error as Error).message}` };
  }
  const mapped = tls.principalMapper.map(name);
  return mapped === null ? { refused: `no principalMappingRules rule applies to the client certificate subject ${name}` } : { principal: `User:${mapped}` };
}

function readPem(path: string, name: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new InvalidConfigError(`tls.${name}: cannot read ${path}: ${(error as Error).message}`);
  }
}
