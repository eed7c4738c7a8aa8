// What a failed OpenSSL call becomes: a system error when the socket failed (a reset keeps its
// ECONNRESET, so the channel's usual disconnect handling applies), a TLSError with a stable code
// otherwise.
import { TLS_ERROR_CODES, type SystemError, type TLSError, systemError, tlsError } from "../errors.js";
import { type NativeTLSConnection, binding } from "../native.js";

const C = binding.tls.constants;
export const WANT_READ = C.WANT_READ!;
export const WANT_WRITE = C.WANT_WRITE!;
export const ZERO_RETURN = C.ZERO_RETURN!;
export const SYSCALL = C.SYSCALL!;
export const CLOSED = C.CLOSED!;

export type Step = "handshake" | "read" | "write" | "shutdown";

/** The Error for `status` (SYSCALL or FAILED), returned by `conn` during `step`. */
export function tlsFailure(conn: NativeTLSConnection, status: number, step: Step): TLSError | SystemError {
  const [errno, lib, reason, text, verify, verifyText] = conn.lastError();
  if (status === SYSCALL && errno !== 0) return systemError(errno, `tls ${step}`);
  const eof = status === SYSCALL || (lib === C.LIB_SSL && reason === C.R_UNEXPECTED_EOF_WHILE_READING);
  if (eof) {
    return step === "handshake"
      ? tlsError(TLS_ERROR_CODES.HANDSHAKE, "TLS handshake failed: the peer closed the connection", text)
      : tlsError(TLS_ERROR_CODES.TRUNCATED, "TLS stream truncated: the peer closed the connection without close_notify", text);
  }
  if (lib === C.LIB_SSL && reason === C.R_CERTIFICATE_VERIFY_FAILED) {
    return tlsError(TLS_ERROR_CODES.CERT_VERIFY, "TLS certificate verification failed", text, verifyText || (verify !== 0 ? `X509 error ${verify}` : ""));
  }
  if (lib === C.LIB_SSL && reason === C.R_NO_RENEGOTIATION) {
    return tlsError(TLS_ERROR_CODES.RENEGOTIATION, "TLS renegotiation refused", text);
  }
  if (step === "handshake") return tlsError(TLS_ERROR_CODES.HANDSHAKE, "TLS handshake failed", text || "unknown error");
  return tlsError(TLS_ERROR_CODES.PROTOCOL, `TLS ${step} failed`, text || "unknown error");
}
