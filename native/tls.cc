#include "tls.h"
#include "args.h"
#include "tls-bio.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <climits>
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace asyncore {
namespace {

using Info = const Napi::CallbackInfo&;

// What each call on a connection returns when it did not complete (>= 0 is success: bytes, or 0/1
// for handshake and shutdown). Mirrored in src/tls/status.ts.
enum Status { kWantRead = -1, kWantWrite = -2, kZeroReturn = -3, kSyscall = -4, kFailed = -5, kClosed = -6 };

// Marks objects made by the TLSContext constructor: a connection refuses any other object as its
// context instead of unwrapping garbage.
const napi_type_tag kContextTag = {0x7c1d8a5e3b2f4a61ULL, 0x9e0f6d4c2b1a8e77ULL};

// The first (root-cause) error in OpenSSL's queue, then the whole queue cleared: what one call
// leaves behind must not be read as the next call's failure (ours or Node's own crypto's).
struct Failure {
  int lib = 0;
  int reason = 0;
  std::string text;
};

Failure TakeErrors() {
  Failure f;
  unsigned long e = ERR_peek_error();
  if (e != 0) {
    f.lib = ERR_GET_LIB(e);
    f.reason = ERR_GET_REASON(e);
    const char* r = ERR_reason_error_string(e);
    char buf[256];
    if (r == nullptr) {
      ERR_error_string_n(e, buf, sizeof buf);
      r = buf;
    }
    f.text = r;
  }
  ERR_clear_error();
  return f;
}

// A PEM passphrase from the caller, never OpenSSL's default (which prompts on the terminal and
// blocks the process).
int Passphrase(char* buf, int size, int, void* u) {
  const std::string* pass = static_cast<const std::string*>(u);
  if (pass == nullptr || pass->empty() || static_cast<int>(pass->size()) > size) return -1;
  std::memcpy(buf, pass->data(), pass->size());
  return static_cast<int>(pass->size());
}

struct Bio {
  BIO* bio;
  explicit Bio(const std::string& s) : bio(BIO_new_mem_buf(s.data(), static_cast<int>(s.size()))) {}
  ~Bio() { BIO_free(bio); }
};

std::string OptionalString(Info info, size_t i, const char* what) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return std::string();
  return StringArg(info, i, what);
}

bool BoolArg(Info info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsBoolean())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

int VersionArg(Info info, size_t i, const char* what) {
  int v = static_cast<int>(IntArg(info, i, what, 0, TLS1_3_VERSION));
  if (v != 0 && (v < TLS1_VERSION || v > TLS1_3_VERSION))
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be 0 or a TLS protocol version (0x301..0x304)");
  return v;
}

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TLSContext", {
      InstanceMethod<&Context::SetCertificate>("setCertificate"),
      InstanceMethod<&Context::AddCA>("addCA"),
      InstanceMethod<&Context::LoadVerifyLocations>("loadVerifyLocations"),
      InstanceMethod<&Context::SetDefaultVerifyPaths>("setDefaultVerifyPaths"),
      InstanceMethod<&Context::SetVersions>("setVersions"),
      InstanceMethod<&Context::SetCiphers>("setCiphers"),
      InstanceMethod<&Context::SetALPN>("setALPN"),
      InstanceMethod<&Context::SetServerNameCallback>("setServerNameCallback"),
      InstanceMethod<&Context::Close>("close"),
    });
  }

  explicit Context(Info info) : Napi::ObjectWrap<Context>(info) {
    ERR_clear_error();
    ctx_ = SSL_CTX_new(TLS_method());
    if (ctx_ == nullptr) throw Napi::Error::New(info.Env(), "SSL_CTX_new: " + TakeErrors().text);
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    // Renegotiation is refused (it re-opens the handshake under the application's feet); no
    // compression (CRIME).
    SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    // A write may take part of the data (as send() does), and a retry after want-write may come
    // from a different Buffer holding the same bytes (a queue's head, re-sliced). Idle connections
    // give their record buffers back.
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    static const unsigned char kSid[] = "asyncore";
    SSL_CTX_set_session_id_context(ctx_, kSid, sizeof kSid - 1);
    SSL_CTX_set_alpn_select_cb(ctx_, SelectAlpn, this);
    info.This().As<Napi::Object>().TypeTag(&kContextTag);
  }

  ~Context() override { Free(); }

  static Context* From(Napi::Env env, Napi::Value v) {
    if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kContextTag))
      throw Napi::TypeError::New(env, "context must be a native TLSContext");
    Context* c = Unwrap(v.As<Napi::Object>());
    if (c == nullptr || c->ctx_ == nullptr) throw Napi::Error::New(env, "the TLS context is closed");
    return c;
  }

  SSL_CTX* ctx() const { return ctx_; }

 private:
  static int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                        unsigned int inlen, void* arg) {
    const Context* self = static_cast<const Context*>(arg);
    if (self->alpn_.empty()) return SSL_TLSEXT_ERR_NOACK;
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, outlen, self->alpn_.data(), static_cast<unsigned int>(self->alpn_.size()), in,
                              inlen) != OPENSSL_NPN_NEGOTIATED)
      return SSL_TLSEXT_ERR_NOACK;  // no protocol in common: go on without one (the peer decides)
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
  }

  // A server's SNI: the JavaScript function picks the context for the name the client sent (a
  // native TLSContext), or keeps this one (null). It runs inside SSL_do_handshake, which a
  // JavaScript call made: on this thread, with a scope open. Its exceptions stop here (never
  // through OpenSSL's frames) and fail the handshake, as any other answer does.
  static int SelectServerName(SSL* ssl, int* alert, void* arg) {
    Context* self = static_cast<Context*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == nullptr || self->sni_.IsEmpty()) return SSL_TLSEXT_ERR_NOACK;
    try {
      Napi::Env env = self->sni_.Env();
      Napi::HandleScope scope(env);
      Napi::Value chosen = self->sni_.Call({Napi::String::New(env, name)});
      if (chosen.IsNull() || chosen.IsUndefined()) return SSL_TLSEXT_ERR_OK;
      if (chosen.IsObject() && chosen.As<Napi::Object>().CheckTypeTag(&kContextTag)) {
        Context* c = Unwrap(chosen.As<Napi::Object>());
        // SSL_set_SSL_CTX takes its own reference: the connection keeps the context it chose.
        if (c != nullptr && c->ctx_ != nullptr && SSL_set_SSL_CTX(ssl, c->ctx_) == c->ctx_) return SSL_TLSEXT_ERR_OK;
      }
    } catch (const Napi::Error&) {
      // the JavaScript side wraps the user's function: this is only a last guard
    }
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }

  void Free() {
    sni_.Reset();
    if (ctx_ == nullptr) return;
    // Connections may hold the SSL_CTX a while longer: the callbacks must not reach this object.
    SSL_CTX_set_alpn_select_cb(ctx_, nullptr, nullptr);
    SSL_CTX_set_tlsext_servername_callback(ctx_, nullptr);
    SSL_CTX_set_tlsext_servername_arg(ctx_, nullptr);
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
  }

  SSL_CTX* Open(Info info) {
    if (ctx_ == nullptr) throw Napi::Error::New(info.Env(), "the TLS context is closed");
    ERR_clear_error();
    return ctx_;
  }

  // null on success, else the failed step and OpenSSL's reason.
  static Napi::Value Result(Napi::Env env, bool ok, const char* step) {
    if (ok) {
      ERR_clear_error();
      return env.Null();
    }
    std::string text = TakeErrors().text;
    return Napi::String::New(env, std::string(step) + ": " + (text.empty() ? "failed" : text));
  }

  // (certificate chain PEM, private key PEM, passphrase or null)
  Napi::Value SetCertificate(Info info) {
    std::string cert = StringArg(info, 0, "cert");
    std::string key = StringArg(info, 1, "key");
    std::string pass = OptionalString(info, 2, "passphrase");
    SSL_CTX* ctx = Open(info);
    Napi::Env env = info.Env();
    {
      Bio bio(cert);
      X509* leaf = PEM_read_bio_X509_AUX(bio.bio, nullptr, nullptr, nullptr);
      bool ok = leaf != nullptr && SSL_CTX_use_certificate(ctx, leaf) == 1;
      X509_free(leaf);
      if (!ok) return Result(env, false, "certificate");
      SSL_CTX_clear_chain_certs(ctx);
      while (X509* ca = PEM_read_bio_X509(bio.bio, nullptr, nullptr, nullptr)) {
        if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
          X509_free(ca);
          return Result(env, false, "certificate chain");
        }
      }
      ERR_clear_error();  // the end of the PEM text reads as "no start line": expected
    }
    Bio bio(key);
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.bio, nullptr, Passphrase, &pass);
    if (pkey == nullptr) return Result(env, false, "private key");
    bool ok = SSL_CTX_use_PrivateKey(ctx, pkey) == 1;
    EVP_PKEY_free(pkey);
    if (!ok) return Result(env, false, "private key");
    return Result(env, SSL_CTX_check_private_key(ctx) == 1, "private key does not match the certificate");
  }

  // Trusted certificates from PEM text: the number added, or the reason none could be.
  Napi::Value AddCA(Info info) {
    std::string pem = StringArg(info, 0, "ca");
    SSL_CTX* ctx = Open(info);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    Bio bio(pem);
    int count = 0;
    while (X509* cert = PEM_read_bio_X509(bio.bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, cert);  // a duplicate is no failure
      X509_free(cert);
      count++;
    }
    Failure f = TakeErrors();
    if (count == 0) return Napi::String::New(info.Env(), "ca: no certificate found" + (f.text.empty() ? "" : " (" + f.text + ")"));
    return Napi::Number::New(info.Env(), count);
  }

  // (file or null, directory or null)
  Napi::Value LoadVerifyLocations(Info info) {
    std::string file = OptionalString(info, 0, "caFile");
    std::string dir = OptionalString(info, 1, "caPath");
    SSL_CTX* ctx = Open(info);
    if (file.empty() && dir.empty()) throw Napi::TypeError::New(info.Env(), "caFile or caPath must be given");
    bool ok = true;
    if (!file.empty()) ok = SSL_CTX_load_verify_file(ctx, file.c_str()) == 1;
    if (ok && !dir.empty()) ok = SSL_CTX_load_verify_dir(ctx, dir.c_str()) == 1;
    return Result(info.Env(), ok, "CA locations");
  }

  Napi::Value SetDefaultVerifyPaths(Info info) {
    SSL_CTX* ctx = Open(info);
    return Result(info.Env(), SSL_CTX_set_default_verify_paths(ctx) == 1, "default CA paths");
  }

  // (min, max): 0 leaves no bound.
  Napi::Value SetVersions(Info info) {
    int min = VersionArg(info, 0, "minVersion");
    int max = VersionArg(info, 1, "maxVersion");
    SSL_CTX* ctx = Open(info);
    bool ok = SSL_CTX_set_min_proto_version(ctx, min) == 1 && SSL_CTX_set_max_proto_version(ctx, max) == 1;
    return Result(info.Env(), ok, "protocol versions");
  }

  // (TLS 1.2 cipher list or null, TLS 1.3 cipher suites or null)
  Napi::Value SetCiphers(Info info) {
    std::string list = OptionalString(info, 0, "ciphers");
    std::string suites = OptionalString(info, 1, "cipherSuites");
    SSL_CTX* ctx = Open(info);
    if (!list.empty() && SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1) return Result(info.Env(), false, "ciphers");
    if (!suites.empty() && SSL_CTX_set_ciphersuites(ctx, suites.c_str()) != 1) return Result(info.Env(), false, "cipher suites");
    return Result(info.Env(), true, "");
  }

  // Protocols in ALPN wire format (length-prefixed names): offered by clients, chosen from by servers.
  Napi::Value SetALPN(Info info) {
    Bytes wire = BytesArg(info, 0, "alpn");
    SSL_CTX* ctx = Open(info);
    for (size_t i = 0; i < wire.length; i += 1 + static_cast<unsigned char>(wire.data[i])) {
      if (wire.data[i] == 0 || i + 1 + static_cast<unsigned char>(wire.data[i]) > wire.length)
        throw Napi::RangeError::New(info.Env(), "alpn is not in wire format");
    }
    alpn_.assign(wire.data, wire.data + wire.length);
    // SSL_CTX_set_alpn_protos returns 0 on success (unlike nearly everything else).
    bool ok = SSL_CTX_set_alpn_protos(ctx, alpn_.data(), static_cast<unsigned int>(alpn_.size())) == 0;
    return Result(info.Env(), ok, "alpn");
  }

  // (function(name) -> native context or null, or null to remove it)
  Napi::Value SetServerNameCallback(Info info) {
    bool remove = info.Length() > 0 && info[0].IsNull();
    Napi::Function fn = remove ? Napi::Function() : FunctionArg(info, 0, "callback");
    SSL_CTX* ctx = Open(info);
    if (remove) {
      sni_.Reset();
      SSL_CTX_set_tlsext_servername_callback(ctx, nullptr);
    } else {
      sni_ = Napi::Persistent(fn);
      SSL_CTX_set_tlsext_servername_callback(ctx, SelectServerName);
      SSL_CTX_set_tlsext_servername_arg(ctx, this);
    }
    return info.Env().Undefined();
  }

  Napi::Value Close(Info info) {
    Free();
    return info.Env().Undefined();
  }

  SSL_CTX* ctx_ = nullptr;
  std::vector<unsigned char> alpn_;
  Napi::FunctionReference sni_;
};

class Connection : public Napi::ObjectWrap<Connection> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TLSConnection", {
      InstanceMethod<&Connection::Handshake>("handshake"),
      InstanceMethod<&Connection::Read>("read"),
      InstanceMethod<&Connection::Write>("write"),
      InstanceMethod<&Connection::Shutdown>("shutdown"),
      InstanceMethod<&Connection::Pending>("pending"),
      InstanceMethod<&Connection::LastError>("lastError"),
      InstanceMethod<&Connection::Describe>("info"),
      InstanceMethod<&Connection::Close>("close"),
    });
  }

  // (context, fd, serverSide, serverName or null, verify: 0 none, 1 peer, 2 peer and required)
  explicit Connection(Info info) : Napi::ObjectWrap<Connection>(info) {
    Napi::Env env = info.Env();
    Context* context = Context::From(env, info.Length() > 0 ? info[0] : env.Undefined());
    int fd = FdArg(info, 1);
    bool server = BoolArg(info, 2, "serverSide");
    std::string name = OptionalString(info, 3, "serverName");
    int verify = static_cast<int>(IntArg(info, 4, "verify", 0, 2));
    if (name.find('\0') != std::string::npos) throw Napi::TypeError::New(env, "serverName must not contain NUL");
    ERR_clear_error();
    ssl_ = SSL_new(context->ctx());
    if (ssl_ == nullptr) throw Napi::Error::New(env, "SSL_new: " + TakeErrors().text);
    io_ = std::make_unique<RecordTransport>(fd);
    BIO* bio = io_->NewBio();
    if (bio == nullptr) {
      std::string text = TakeErrors().text;
      Free();
      throw Napi::Error::New(env, "BIO_new: " + (text.empty() ? "out of memory" : text));
    }
    SSL_set_bio(ssl_, bio, bio);  // the SSL owns the BIO; the BIO reads and writes through io_
    if (server) SSL_set_accept_state(ssl_);
    else SSL_set_connect_state(ssl_);
    int mode = verify == 0 ? SSL_VERIFY_NONE : SSL_VERIFY_PEER | (verify == 2 ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_set_verify(ssl_, mode, nullptr);
    if (!server && !name.empty() && !SetServerName(name, verify != 0)) {
      std::string text = TakeErrors().text;
      Free();
      throw Napi::Error::New(env, "serverName: " + (text.empty() ? "rejected" : text));
    }
    ERR_clear_error();
    // The context stays alive (and its ALPN list with it) as long as a connection uses it.
    context_ = Napi::Persistent(info[0].As<Napi::Object>());
  }

  ~Connection() override { Free(); }

 private:
  // SNI for a host name (never for an address, RFC 6066), and the name or address the
  // certificate must match when verifying.
  bool SetServerName(const std::string& name, bool check) {
    unsigned char addr[16];
    bool ip = inet_pton(AF_INET, name.c_str(), addr) == 1 || inet_pton(AF_INET6, name.c_str(), addr) == 1;
    if (ip) return !check || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str()) == 1;
    if (SSL_set_tlsext_host_name(ssl_, name.c_str()) != 1) return false;
    if (!check) return true;
    SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl_, name.c_str()) == 1;
  }

  void Free() {
    if (ssl_ != nullptr) {
      SSL_free(ssl_);  // frees the BIO (before io_, which it points to); the fd stays open
      ssl_ = nullptr;
    }
    io_.reset();
    if (!context_.IsEmpty()) context_.Reset();
  }

  bool Open() {
    if (ssl_ == nullptr) return false;
    ERR_clear_error();
    errno = 0;
    return true;
  }

  // The status of a call that returned `r` (<= 0); errno is the call's own (read before anything else).
  int Settle(int r, int err) {
    switch (SSL_get_error(ssl_, r)) {
      case SSL_ERROR_WANT_READ: ERR_clear_error(); return kWantRead;
      case SSL_ERROR_WANT_WRITE: ERR_clear_error(); return kWantWrite;
      case SSL_ERROR_ZERO_RETURN: ERR_clear_error(); return kZeroReturn;
      case SSL_ERROR_SYSCALL:
        errno_ = err;
        failure_ = TakeErrors();
        return kSyscall;
      default:
        errno_ = 0;
        failure_ = TakeErrors();
        verify_ = SSL_get_verify_result(ssl_);
        return kFailed;
    }
  }

  // A failed send of buffered output, as a failed syscall.
  int SendFailed(int err) {
    errno_ = err;
    failure_ = Failure();
    return kSyscall;
  }

  // Output left from an earlier call goes first: 0 when none is left, else a status.
  int FlushFirst() {
    int f = io_->Flush();
    return f == 0 ? 0 : f > 0 ? kWantWrite : SendFailed(-f);
  }

  // The end of a handshake or shutdown step that returned `status`: its output sent, or
  // want-write while some is left (the step is then asked again, and goes on from there).
  int FlushAfter(int status) {
    int f = io_->Flush();
    io_->ReleaseIdle();
    if (f < 0 && status != kFailed) return SendFailed(-f);
    if (f > 0 && status != kFailed) return kWantWrite;
    return status;
  }

  Napi::Value Handshake(Info info) {
    if (!Open()) return Napi::Number::New(info.Env(), kClosed);
    int status = FlushFirst();
    if (status != 0) return Napi::Number::New(info.Env(), status);
    // The SNI callback runs JavaScript in here: a close() it makes waits until OpenSSL is done.
    inHandshake_ = true;
    int r = SSL_do_handshake(ssl_);
    int err = errno;
    inHandshake_ = false;
    if (closeAfterCall_) {
      Free();
      return Napi::Number::New(info.Env(), kClosed);
    }
    return Napi::Number::New(info.Env(), FlushAfter(r == 1 ? 0 : Settle(r, err)));
  }

  // The region [offset, offset + length) of a Uint8Array.
  static char* Region(Info info, size_t* length) {
    Bytes b = BytesArg(info, 0, "buffer");
    int64_t offset = IntArg(info, 1, "offset", 0, INT_MAX);
    int64_t n = IntArg(info, 2, "length", 0, INT_MAX);
    if (static_cast<uint64_t>(offset + n) > b.length) throw Napi::RangeError::New(info.Env(), "offset + length is past the buffer's end");
    *length = static_cast<size_t>(n);
    return const_cast<char*>(b.data) + offset;
  }

  // (buffer, offset, length): bytes decrypted into buffer[offset..], or a status. Goes on past
  // one record while whole records are buffered (never asking the kernel twice in one call).
  Napi::Value Read(Info info) {
    size_t length;
    char* data = Region(info, &length);
    if (!Open()) return Napi::Number::New(info.Env(), kClosed);
    if (length == 0) return Napi::Number::New(info.Env(), 0);
    if (deferred_ != 0) {
      int s = deferred_;
      deferred_ = 0;
      return Napi::Number::New(info.Env(), s);
    }
    if (io_->Unsent() > 0) io_->Flush();  // a failure shows in the read, or the next write
    size_t total = 0;
    int status = 0;
    for (;;) {
      size_t n = 0;
      int r = SSL_read_ex(ssl_, data + total, length - total, &n);
      int err = errno;
      if (r != 1) {
        status = Settle(r, err);
        break;
      }
      total += n;
      if (total == length || (SSL_pending(ssl_) == 0 && !io_->HasRecord())) break;
    }
    // What reading made OpenSSL answer (a key update, an alert) goes out now.
    if (io_->Unsent() > 0) io_->Flush();
    io_->ReleaseIdle();
    if (total > 0) {
      // The end (close_notify) or a failure after some data: the data now, the status (its error
      // already taken) from the next read, which pending() says can come at once.
      if (status == kZeroReturn || status == kFailed || status == kSyscall) deferred_ = status;
      return Napi::Number::New(info.Env(), static_cast<double>(total));
    }
    return Napi::Number::New(info.Env(), status);
  }

  // (buffer, offset, length): plaintext bytes taken, or a status. The records of up to 64 KiB go
  // out in one send(). Bytes count as taken once their records are all in the kernel: a record
  // made but not sent yet holds its bytes, and the next call (which must start with those same
  // bytes, as after OpenSSL's own want-write) sends it before making more.
  Napi::Value Write(Info info) {
    size_t length;
    char* data = Region(info, &length);
    if (!Open()) return Napi::Number::New(info.Env(), kClosed);
    if (length == 0) return Napi::Number::New(info.Env(), 0);
    int f = io_->Flush();
    if (f < 0) return Napi::Number::New(info.Env(), SendFailed(-f));
    size_t taken = io_->TakeAcked();
    if (f > 0) return Napi::Number::New(info.Env(), taken > 0 ? static_cast<double>(std::min(taken, length)) : static_cast<double>(kWantWrite));
    constexpr size_t kBatch = 65536;
    size_t pos = std::min(taken, length);
    int status = 0;
    while (pos < length && io_->Unsent() < kBatch) {
      size_t n = 0;
      int r = SSL_write_ex(ssl_, data + pos, std::min<size_t>(length - pos, 16384), &n);
      int err = errno;
      if (r != 1) {
        status = Settle(r, err);
        break;
      }
      io_->MarkRecord(n);
      pos += n;
    }
    f = io_->Flush();
    taken += io_->TakeAcked();
    io_->ReleaseIdle();
    // More than `length` only when a caller broke the rule above: never report past its data.
    if (taken > 0) return Napi::Number::New(info.Env(), static_cast<double>(std::min(taken, length)));
    if (status != 0) return Napi::Number::New(info.Env(), status);
    return Napi::Number::New(info.Env(), f < 0 ? SendFailed(-f) : kWantWrite);
  }

  // 1: both close_notify alerts exchanged; 0: ours sent, the peer's not seen yet; or a status
  // (want-write while ours is not all in the kernel: asked again, it sends the rest).
  Napi::Value Shutdown(Info info) {
    if (!Open()) return Napi::Number::New(info.Env(), kClosed);
    int status = FlushFirst();
    if (status != 0) return Napi::Number::New(info.Env(), status);
    int state = SSL_get_shutdown(ssl_);
    if (state & SSL_SENT_SHUTDOWN) return Napi::Number::New(info.Env(), state & SSL_RECEIVED_SHUTDOWN ? 1 : 0);
    int r = SSL_shutdown(ssl_);
    int err = errno;
    if (r >= 0) {
      ERR_clear_error();
      status = r;
    } else {
      status = Settle(r, err);
    }
    return Napi::Number::New(info.Env(), FlushAfter(status));
  }

  // Readable without the kernel saying so: decrypted bytes held inside OpenSSL, plus 1 when a
  // whole record or a held-back status waits. 0 means the kernel must bring more first.
  Napi::Value Pending(Info info) {
    if (ssl_ == nullptr) return Napi::Number::New(info.Env(), 0);
    return Napi::Number::New(info.Env(), SSL_pending(ssl_) + (io_->HasRecord() || deferred_ != 0 ? 1 : 0));
  }

  // [errno, library, reason code, reason text, verify result, verify text] of the last failure.
  Napi::Value LastError(Info info) {
    Napi::Env env = info.Env();
    Napi::Array a = Napi::Array::New(env, 6);
    a.Set(0u, Napi::Number::New(env, errno_));
    a.Set(1u, Napi::Number::New(env, failure_.lib));
    a.Set(2u, Napi::Number::New(env, failure_.reason));
    a.Set(3u, Napi::String::New(env, failure_.text));
    a.Set(4u, Napi::Number::New(env, static_cast<double>(verify_)));
    a.Set(5u, Napi::String::New(env, verify_ == X509_V_OK ? "" : X509_verify_cert_error_string(verify_)));
    return a;
  }

  // [protocol version, cipher, ALPN protocol or null, peer certificate subject or null]
  Napi::Value Describe(Info info) {
    Napi::Env env = info.Env();
    if (ssl_ == nullptr) return env.Null();
    Napi::Array a = Napi::Array::New(env, 4);
    a.Set(0u, Napi::String::New(env, SSL_get_version(ssl_)));
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
    a.Set(1u, cipher == nullptr ? env.Null() : Napi::String::New(env, SSL_CIPHER_get_name(cipher)));
    const unsigned char* proto = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl_, &proto, &len);
    a.Set(2u, len == 0 ? env.Null() : Napi::String::New(env, reinterpret_cast<const char*>(proto), len));
    Napi::Value subject = env.Null();
    if (X509* peer = SSL_get1_peer_certificate(ssl_)) {
      char* line = X509_NAME_oneline(X509_get_subject_name(peer), nullptr, 0);
      if (line != nullptr) subject = Napi::String::New(env, line);
      OPENSSL_free(line);
      X509_free(peer);
    }
    a.Set(3u, subject);
    ERR_clear_error();
    return a;
  }

  Napi::Value Close(Info info) {
    if (inHandshake_) closeAfterCall_ = true;
    else Free();
    return info.Env().Undefined();
  }

  SSL* ssl_ = nullptr;
  bool inHandshake_ = false;
  bool closeAfterCall_ = false;
  std::unique_ptr<RecordTransport> io_;
  // A read's end or failure, held back while the data before it is handed out.
  int deferred_ = 0;
  Napi::ObjectReference context_;
  int errno_ = 0;
  Failure failure_;
  long verify_ = X509_V_OK;
};

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
#define C(name, value) c.Set(name, Napi::Number::New(env, value))
  C("WANT_READ", kWantRead); C("WANT_WRITE", kWantWrite); C("ZERO_RETURN", kZeroReturn);
  C("SYSCALL", kSyscall); C("FAILED", kFailed); C("CLOSED", kClosed);
  C("TLS1_2_VERSION", TLS1_2_VERSION); C("TLS1_3_VERSION", TLS1_3_VERSION);
  C("TLS1_VERSION", TLS1_VERSION); C("TLS1_1_VERSION", TLS1_1_VERSION);
  C("R_CERTIFICATE_VERIFY_FAILED", SSL_R_CERTIFICATE_VERIFY_FAILED);
  C("R_UNEXPECTED_EOF_WHILE_READING", SSL_R_UNEXPECTED_EOF_WHILE_READING);
  C("R_NO_RENEGOTIATION", SSL_R_NO_RENEGOTIATION);
  C("LIB_SSL", ERR_LIB_SSL);
#undef C
  return c;
}

}  // namespace

void InitTls(Napi::Env env, Napi::Object exports) {
  Napi::Object tls = Napi::Object::New(env);
  tls.Set("Context", Context::Define(env));
  tls.Set("Connection", Connection::Define(env));
  tls.Set("constants", Constants(env));
  tls.Set("version", Napi::String::New(env, OpenSSL_version(OPENSSL_VERSION)));
  exports.Set("tls", tls);
}

}  // namespace asyncore
