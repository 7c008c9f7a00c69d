/**
 * Which addresses outgoing calls may reach. Checked when a socket
 * connects — after DNS, on the address actually dialled — so redirects, token endpoints and DNS
 * answers that change between checks (rebinding) are all covered by one rule.
 *
 * - Never: link-local (cloud metadata lives there), unspecified, multicast, broadcast, and known
 *   metadata addresses.
 * - Loopback and private ranges: only when allowed (`PATCHBAY_ALLOW_PRIVATE_NETWORK=true`), or
 *   for exact `address:port` pairs the operator allows (the server's own demo API).
 *
 * @module
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { BlockList, isIP, type Socket } from 'node:net'
import { Agent, buildConnector } from 'undici'

export type AddressClass = 'public' | 'private' | 'loopback' | 'forbidden'

const forbidden = new BlockList()
forbidden.addSubnet('0.0.0.0', 8, 'ipv4')
forbidden.addSubnet('169.254.0.0', 16, 'ipv4') // link-local: 169.254.169.254 metadata
forbidden.addSubnet('224.0.0.0', 4, 'ipv4') // multicast
forbidden.addSubnet('240.0.0.0', 4, 'ipv4') // reserved, broadcast
forbidden.addAddress('100.100.100.200', 'ipv4') // Alibaba Cloud metadata
forbidden.addAddress('168.63.129.16', 'ipv4') // Azure host services
forbidden.addAddress('::', 'ipv6')
forbidden.addSubnet('fe80::', 10, 'ipv6') // link-local
forbidden.addSubnet('ff00::', 8, 'ipv6') // multicast
forbidden.addAddress('fd00:ec2::254', 'ipv6') // AWS metadata over IPv6

const loopback = new BlockList()
loopback.addSubnet('127.0.0.0', 8, 'ipv4')
loopback.addAddress('::1', 'ipv6')

const privateRanges = new BlockList()
privateRanges.addSubnet('10.0.0.0', 8, 'ipv4')
privateRanges.addSubnet('172.16.0.0', 12, 'ipv4')
privateRanges.addSubnet('192.168.0.0', 16, 'ipv4')
privateRanges.addSubnet('100.64.0.0', 10, 'ipv4') // carrier-grade NAT
privateRanges.addSubnet('198.18.0.0', 15, 'ipv4') // benchmarking
privateRanges.addSubnet('fc00::', 7, 'ipv6') // unique local

export function classifyAddress(address: string): AddressClass {
  let ip = address.replace(/^\[|\]$/g, '')
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped) ip = mapped[1]!
  const family = isIP(ip)
  if (family === 0) return 'forbidden'
  const type = family === 4 ? 'ipv4' : 'ipv6'
  if (forbidden.check(ip, type)) return 'forbidden'
  if (loopback.check(ip, type)) return 'loopback'
  if (privateRanges.check(ip, type)) return 'private'
  return 'public'
}

export interface NetworkPolicy {
  /** Loopback and private ranges allowed (tests, on-premise APIs). */
  allowPrivate: boolean
  /** Exact `address:port` pairs allowed even when private ranges are not. */
  allowEndpoints?: Set<string>
}

/** Thrown (as a socket error) when the policy refuses an address. */
export class NetworkRefusedError extends Error {
  readonly code = 'PATCHBAY_NETWORK_REFUSED'
  constructor(
    readonly address: string,
    readonly addressClass: AddressClass,
  ) {
    super(
      addressClass === 'forbidden'
        ? `${address} is a link-local, metadata or reserved address, which Patchbay never calls`
        : `${address} is a ${addressClass} address; set PATCHBAY_ALLOW_PRIVATE_NETWORK=true to allow private and loopback networks`,
    )
    this.name = 'NetworkRefusedError'
  }
}

export function checkAddress(
  address: string,
  port: number,
  policy: NetworkPolicy,
): NetworkRefusedError | undefined {
  const cls = classifyAddress(address)
  if (cls === 'public') return undefined
  const bare = address.replace(/^\[|\]$/g, '')
  if (cls !== 'forbidden' && (policy.allowPrivate || policy.allowEndpoints?.has(`${bare}:${port}`)))
    return undefined
  return new NetworkRefusedError(bare, cls)
}

/**
 * A `dns.lookup` that drops refused addresses from the answer (and fails when none is left), so a
 * name cannot smuggle a connection to a refused address. `allowEndpoints` applies to literal IPs
 * only: a name must resolve to addresses the policy allows as such.
 */
export function guardedLookup(policy: NetworkPolicy) {
  return (
    hostname: string,
    options: LookupOptions,
    callback: (
      err: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, [])
      const list = addresses as LookupAddress[]
      const strict = { allowPrivate: policy.allowPrivate }
      const allowed = list.filter((a) => !checkAddress(a.address, 0, strict))
      if (allowed.length === 0) {
        const first = list[0]
        return callback(
          (first && checkAddress(first.address, 0, strict)) ||
            new NetworkRefusedError(hostname, 'forbidden'),
          [],
        )
      }
      if (options.all) return callback(null, allowed)
      return callback(null, allowed[0]!.address, allowed[0]!.family)
    })
  }
}

/** OpenSSL's certificate verification codes (`X509_V_ERR_*` without the prefix), as Node names them. */
const CERT_VERIFY_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

const isTlsCode = (code: string) => CERT_VERIFY_CODES.has(code) || /^ERR_(SSL|TLS)_/.test(code)

/**
 * TLS errors that sockets of guarded agents met, by the socket's addresses. A TLS 1.3 server
 * refuses a client certificate (or the lack of one) after the client's side of the handshake is
 * done (RFC 8446 §4.4.2.4): the alert comes with the connection's end, and undici reports only
 * "other side closed", naming the socket's addresses; this says what closed it. Bounded.
 */
const socketTlsErrors = new Map<string, { err: Error & { code: string }; at: number }>()
const SOCKET_ERRORS_KEPT = 256
/** An entry read later than this is another connection that reused the port. */
const SOCKET_ERROR_TTL_MS = 30_000

const socketKey = (s: {
  localAddress?: string | undefined
  localPort?: number | undefined
  remoteAddress?: string | undefined
  remotePort?: number | undefined
}) => `${s.localAddress}:${s.localPort}>${s.remoteAddress}:${s.remotePort}`

function watchTls(socket: Socket): void {
  // Read now (the socket is connected): a destroyed socket forgets its addresses.
  const key = socketKey(socket)
  socket.on('error', (err: Error & { code?: unknown }) => {
    if (typeof err.code !== 'string' || !isTlsCode(err.code)) return
    socketTlsErrors.set(key, { err: err as Error & { code: string }, at: Date.now() })
    if (socketTlsErrors.size > SOCKET_ERRORS_KEPT)
      socketTlsErrors.delete(socketTlsErrors.keys().next().value!)
  })
}

/**
 * What went wrong in a TLS handshake, said so that it can be fixed, or undefined for other
 * errors: a server that asks for a client certificate (TLS 1.3's `certificate_required` alert,
 * RFC 8446 §6.2), one that refuses the certificate given, or a server certificate that is not
 * trusted.
 */
export function describeTlsFailure(err: unknown): string | undefined {
  for (let e = err as Record<string, unknown> | undefined; e; e = e.cause as never) {
    const info = e.socket as Parameters<typeof socketKey>[0] | undefined
    const key = info && socketKey(info)
    const entry = key ? socketTlsErrors.get(key) : undefined
    // Read once: the port may serve another connection next.
    if (key) socketTlsErrors.delete(key)
    const seen = entry && Date.now() - entry.at < SOCKET_ERROR_TTL_MS ? entry.err : undefined
    const code = typeof e.code === 'string' && isTlsCode(e.code) ? e.code : seen?.code
    if (!code) continue
    if (CERT_VERIFY_CODES.has(code))
      return `the server's certificate is not trusted (${code}); add the authority that issued it as auth.tls.ca`
    if (/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/.test(code))
      return `the TLS handshake failed (${code}): the server asks for a client certificate; give one in auth.tls`
    if (
      /BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|ACCESS_DENIED|DECRYPT_ERROR/.test(
        code,
      )
    )
      return `the server refused the client certificate (${code}); check auth.tls.cert`
    return `the TLS handshake failed (${code})`
  }
  return undefined
}

/** TLS options for the agent's connections: a client certificate and key, trusted authorities. */
export interface AgentTlsOptions {
  cert?: string
  key?: string
  /** Replaces Node's default trust store: pass `tls.rootCertificates` too to extend it. */
  ca?: string[]
}

/**
 * An undici Agent whose every connection obeys the policy; with `tls`, its connections present
 * that client certificate (mutual TLS) and trust those authorities, under the same policy.
 */
export function createGuardedAgent(
  policy: NetworkPolicy,
  options: Agent.Options = {},
  tls: AgentTlsOptions = {},
): Agent {
  const connector = buildConnector({
    ...tls,
    lookup: guardedLookup(policy),
  } as buildConnector.BuildOptions)
  return new Agent({
    connections: 128,
    keepAliveTimeout: 10_000,
    ...options,
    connect(opts, callback) {
      const host = opts.hostname.replace(/^\[|\]$/g, '')
      if (isIP(host)) {
        const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80)
        const refused = checkAddress(host, port, policy)
        if (refused) return callback(refused, null)
      }
      return connector(opts, (err, socket) => {
        if (socket && opts.protocol === 'https:') watchTls(socket)
        callback(err, socket as never)
      })
    },
  })
}
