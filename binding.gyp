{
  "targets": [
    {
      "target_name": "asyncore",
      "sources": [
        "native/addon.cc",
        "native/args.cc",
        "native/sockaddr.cc",
        "native/socket.cc",
        "native/splice.cc",
        "native/poller.cc",
        "native/tls.cc",
        "native/tls-bio.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except_all"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": [
        "NAPI_VERSION=8",
        # While an environment (a Worker) shuts down, an error that can no longer be thrown into
        # JavaScript is dropped instead of ending in std::terminate or a V8 fatal error.
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
      }
    }
  ]
}
