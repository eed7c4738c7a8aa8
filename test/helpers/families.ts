// The address families the socket-level tests run over: IPv4 and IPv6 loopback on port 0, and
// Unix sockets at a fresh path in a temporary directory. IPv6 is skipped where ::1 cannot be bound.
import { AF_INET, AF_INET6, AF_UNIX, type Address, Socket } from "../../src/index.js";
import { tmpPath } from "./tmpdir.js";

export interface AddressFamily {
  name: string;
  family: number;
  /** Why tests over this family are skipped here, or false. */
  skip: string | false;
  /** A bindable address: port 0 for inet, a new unused path for AF_UNIX. */
  addr(): Address;
}

function ipv6Skip(): string | false {
  let s: Socket | null = null;
  try {
    s = new Socket(AF_INET6);
    s.bind(["::1", 0]);
    return false;
  } catch (err) {
    return `IPv6 loopback ::1 is unavailable here (${(err as Error).message})`;
  } finally {
    s?.close();
  }
}

export const IPV4: AddressFamily = { name: "IPv4", family: AF_INET, skip: false, addr: () => ["127.0.0.1", 0] };
export const IPV6: AddressFamily = { name: "IPv6", family: AF_INET6, skip: ipv6Skip(), addr: () => ["::1", 0] };
export const UNIX: AddressFamily = { name: "Unix", family: AF_UNIX, skip: false, addr: () => tmpPath("sock") };

export const addressFamilies: readonly AddressFamily[] = [IPV4, IPV6, UNIX];
