#include "tls-bio.h"
#include "args.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0  // macOS: SO_NOSIGPIPE is set on each new socket instead
#endif

namespace asyncore {
namespace {

// One recv() takes up to this much: four full records (Node's tls reads 64 KiB at a time too).
constexpr size_t kInput = 65536;
// A record's header: type, version (2 bytes), length (2 bytes).
constexpr size_t kHeader = 5;
// The longest record body TLS allows (2^14 + 2048, TLS 1.2's bound; TLS 1.3's is lower).
constexpr size_t kMaxBody = 16384 + 2048;
// Past this much unsent output the BIO refuses more (OpenSSL then reports want-write): only a
// peer that makes us answer (key updates) while never reading could get here.
constexpr size_t kOutputLimit = 1 << 20;
// Room an output buffer starts with: a full batch of records (tls.cc writes up to 64 KiB of
// plaintext per call) and their overhead, so that it never grows (and copies) within a call.
constexpr size_t kOutputRoom = 65536 + 4096;
// Buffers each thread keeps for its connections (more go back to the heap), and the largest
// output buffer kept.
constexpr size_t kPoolKeep = 8;
constexpr size_t kOutputKeep = 4 * kOutputRoom;

// A thread's spare buffers. A connection holds one only while bytes wait in it; taking a warm
// one from here instead of the heap spares the page faults and cache misses of fresh memory.
struct Pool {
  std::vector<char*> inputs;
  std::vector<std::vector<char>> outputs;
  ~Pool() {
    for (char* p : inputs) delete[] p;
  }
};
thread_local Pool pool;

char* TakeInput() {
  if (pool.inputs.empty()) return new (std::nothrow) char[kInput];
  char* p = pool.inputs.back();
  pool.inputs.pop_back();
  return p;
}

void GiveInput(char* p) {
  if (pool.inputs.size() < kPoolKeep) pool.inputs.push_back(p);
  else delete[] p;
}

}  // namespace

RecordTransport::~RecordTransport() {
  if (in_ != nullptr) GiveInput(in_);
}

BIO_METHOD* RecordTransport::Method() {
  // Made once per process (thread-safe static), never freed: every BIO of every thread uses it.
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "asyncore record transport");
    if (m != nullptr) {
      BIO_meth_set_read(m, Read);
      BIO_meth_set_write(m, Write);
      BIO_meth_set_ctrl(m, Ctrl);
    }
    return m;
  }();
  return method;
}

BIO* RecordTransport::NewBio() {
  BIO_METHOD* m = Method();
  BIO* bio = m == nullptr ? nullptr : BIO_new(m);
  if (bio == nullptr) return nullptr;
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  return bio;
}

bool RecordTransport::HasRecord() const {
  size_t avail = inLen_ - inOff_;
  if (avail < kHeader) return false;
  const unsigned char* h = reinterpret_cast<const unsigned char*>(in_ + inOff_);
  size_t body = (static_cast<size_t>(h[3]) << 8) | h[4];
  return body > kMaxBody || avail >= kHeader + body;
}

// OpenSSL (read-ahead off) asks for a header, then a body. The input buffer answers; only when
// it is empty does the kernel get asked, for as much as it has.
int RecordTransport::Read(BIO* bio, char* out, int len) {
  RecordTransport* t = static_cast<RecordTransport*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (len <= 0) return 0;
  if (t->inOff_ == t->inLen_) {
    if (t->eof_) return 0;
    if (t->in_ == nullptr && (t->in_ = TakeInput()) == nullptr) {
      errno = ENOMEM;
      return -1;
    }
    ssize_t r = RetryEintr([&] { return recv(t->fd_, t->in_, kInput, 0); });
    if (r == 0) {
      t->eof_ = true;
      return 0;
    }
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(bio);
      return -1;  // errno stays the recv's: SSL_ERROR_SYSCALL reads it
    }
    t->inOff_ = 0;
    t->inLen_ = static_cast<size_t>(r);
  }
  size_t n = std::min(static_cast<size_t>(len), t->inLen_ - t->inOff_);
  std::memcpy(out, t->in_ + t->inOff_, n);
  t->inOff_ += n;
  return static_cast<int>(n);
}

// Records gather here; the connection sends them once its call is over (Flush).
int RecordTransport::Write(BIO* bio, const char* data, int len) {
  RecordTransport* t = static_cast<RecordTransport*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (len <= 0) return 0;
  if (t->Unsent() > kOutputLimit && (t->Flush() != 0 || t->Unsent() > kOutputLimit)) {
    BIO_set_retry_write(bio);
    errno = EAGAIN;
    return -1;
  }
  try {
    if (t->out_.capacity() == 0) {
      if (!pool.outputs.empty()) {
        t->out_.swap(pool.outputs.back());
        pool.outputs.pop_back();
      }
      t->out_.reserve(kOutputRoom);
    }
    t->out_.insert(t->out_.end(), data, data + len);
  } catch (const std::bad_alloc&) {
    errno = ENOMEM;
    return -1;
  }
  return len;
}

long RecordTransport::Ctrl(BIO* bio, int cmd, long, void*) {
  RecordTransport* t = static_cast<RecordTransport*>(BIO_get_data(bio));
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;  // the connection flushes at the end of each call
    case BIO_CTRL_EOF: return t->eof_ && t->inOff_ == t->inLen_ ? 1 : 0;
    case BIO_CTRL_PENDING: return static_cast<long>(t->inLen_ - t->inOff_);
    case BIO_CTRL_WPENDING: return static_cast<long>(t->Unsent());
    default: return 0;
  }
}

int RecordTransport::Flush() {
  while (outOff_ < out_.size()) {
    ssize_t r = RetryEintr([&] { return send(fd_, out_.data() + outOff_, out_.size() - outOff_, MSG_NOSIGNAL); });
    if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -errno;
    outOff_ += static_cast<size_t>(r);
  }
  base_ += out_.size();
  out_.clear();
  outOff_ = 0;
  return 0;
}

void RecordTransport::MarkRecord(size_t plain) {
  records_.emplace_back(base_ + out_.size(), plain);
}

size_t RecordTransport::TakeAcked() {
  unsigned long long sent = base_ + outOff_;
  size_t acked = 0;
  while (recordHead_ < records_.size() && records_[recordHead_].first <= sent) acked += records_[recordHead_++].second;
  if (recordHead_ == records_.size()) {
    records_.clear();
    recordHead_ = 0;
  }
  return acked;
}

void RecordTransport::ReleaseIdle() {
  if (inOff_ == inLen_ && in_ != nullptr) {
    GiveInput(in_);
    in_ = nullptr;
    inOff_ = inLen_ = 0;
  }
  if (out_.empty() && out_.capacity() > 0) {
    if (pool.outputs.size() < kPoolKeep && out_.capacity() <= kOutputKeep) pool.outputs.push_back(std::move(out_));
    std::vector<char>().swap(out_);
  }
}

}  // namespace asyncore
