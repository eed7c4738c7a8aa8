// The platform's socket constants, read from the addon (so they are right on every system).
import { binding } from "./native.js";

const c = binding.constants as Readonly<Record<string, number>>;
const get = (name: string): number => {
  const v = c[name];
  if (v === undefined) throw new Error(`the addon has no constant ${name}`);
  return v;
};

export const AF_INET = get("AF_INET");
export const AF_INET6 = get("AF_INET6");
export const AF_UNIX = get("AF_UNIX");
export const AF_UNSPEC = get("AF_UNSPEC");
export const SOCK_STREAM = get("SOCK_STREAM");
export const SOCK_DGRAM = get("SOCK_DGRAM");
export const SOL_SOCKET = get("SOL_SOCKET");
export const SO_REUSEADDR = get("SO_REUSEADDR");
/** -1 where the platform has no SO_REUSEPORT. */
export const SO_REUSEPORT = c["SO_REUSEPORT"] ?? -1;
export const SO_ERROR = get("SO_ERROR");
export const SO_LINGER = get("SO_LINGER");
export const SO_KEEPALIVE = get("SO_KEEPALIVE");
export const SO_SNDBUF = get("SO_SNDBUF");
export const SO_RCVBUF = get("SO_RCVBUF");
export const SO_TYPE = get("SO_TYPE");
export const SO_BROADCAST = get("SO_BROADCAST");
export const SO_OOBINLINE = get("SO_OOBINLINE");
export const IPPROTO_IP = get("IPPROTO_IP");
export const IPPROTO_IPV6 = get("IPPROTO_IPV6");
export const IPPROTO_TCP = get("IPPROTO_TCP");
export const IPPROTO_UDP = get("IPPROTO_UDP");
export const IPV6_V6ONLY = get("IPV6_V6ONLY");
export const TCP_NODELAY = get("TCP_NODELAY");
export const MSG_OOB = get("MSG_OOB");
export const MSG_PEEK = get("MSG_PEEK");
export const MSG_DONTWAIT = get("MSG_DONTWAIT");
export const MSG_WAITALL = get("MSG_WAITALL");
export const SHUT_RD = get("SHUT_RD");
export const SHUT_WR = get("SHUT_WR");
export const SHUT_RDWR = get("SHUT_RDWR");
export const SOMAXCONN = get("SOMAXCONN");
export const POLLIN = get("POLLIN");
export const POLLPRI = get("POLLPRI");
export const POLLOUT = get("POLLOUT");
export const POLLERR = get("POLLERR");
export const POLLHUP = get("POLLHUP");
export const POLLNVAL = get("POLLNVAL");
