// The transport under each TLS connection (tls.cc makes one per SSL): OpenSSL's socket BIO reads a
// record with two read() calls (header, then body) and sends each record alone; this one reads
// what the kernel has in one recv() and gathers the records of a call into one send().
#pragma once
#include <openssl/bio.h>

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace asyncore {

class RecordTransport {
 public:
  explicit RecordTransport(int fd) : fd_(fd) {}
  ~RecordTransport();
  RecordTransport(const RecordTransport&) = delete;
  RecordTransport& operator=(const RecordTransport&) = delete;

  // A BIO reading and writing through this transport, or null (out of memory). SSL_set_bio takes
  // it; it must not outlive this object (free the SSL first).
  BIO* NewBio();

  // Input.
  // A whole record waits in the input buffer (or a header no record can have: OpenSSL will fail
  // it), so that a read can go on without the kernel. A partial record needs the kernel.
  bool HasRecord() const;

  // Output.
  size_t Unsent() const { return out_.size() - outOff_; }
  // Sends what is buffered: 0 when all is sent, 1 when the kernel would block with some left,
  // -errno on failure.
  int Flush();
  // After an SSL_write of `plain` bytes: the output so far carries them (acknowledged once sent).
  void MarkRecord(size_t plain);
  // Plaintext bytes of the records fully handed to the kernel since the last call.
  size_t TakeAcked();

  // Gives buffers with nothing in them back to the thread's pool: idle connections hold no
  // memory here, and busy ones take warm buffers instead of fresh ones on every call.
  void ReleaseIdle();

 private:
  static int Read(BIO* bio, char* out, int len);
  static int Write(BIO* bio, const char* data, int len);
  static long Ctrl(BIO* bio, int cmd, long num, void* ptr);
  static BIO_METHOD* Method();

  int fd_;
  // Input: [inOff_, inLen_) of in_ not yet given to OpenSSL; always starts at a record boundary
  // between calls (OpenSSL reads whole records and asks for more only once this is empty).
  char* in_ = nullptr;  // kInput bytes, from the pool
  size_t inOff_ = 0;
  size_t inLen_ = 0;
  bool eof_ = false;
  // Output: out_ from outOff_ on is not sent yet; base_ is the stream position of out_[0].
  std::vector<char> out_;
  size_t outOff_ = 0;
  unsigned long long base_ = 0;
  // (stream position where a written record ends, its plaintext bytes), oldest first.
  std::vector<std::pair<unsigned long long, size_t>> records_;
  size_t recordHead_ = 0;
};

}  // namespace asyncore
