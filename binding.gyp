{
  # Native addons, built by scripts/build-addons.js on Linux only (npm's install step).
  # Each target becomes build/Release/<target_name>.node.
  "targets": [
    {
      "target_name": "cloister_nsm",
      "sources": ["attestation/nsm/native/nsm.c"],
      "include_dirs": ["native"],
      "cflags": ["-Wall", "-Wextra", "-std=gnu11"]
    },
    {
      "target_name": "cloister_vsock",
      "sources": ["transport/native/vsock.c"],
      "include_dirs": ["native"],
      "cflags": ["-Wall", "-Wextra", "-std=gnu11"]
    }
  ]
}
