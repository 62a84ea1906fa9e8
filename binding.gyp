{
  # Native addons, built by scripts/build-addons.js on Linux only (npm's install step).
  # Each target becomes build/Release/<target_name>.node. cloister_p384 is built only when
  # build-addons.js finds Nettle's and GMP's headers and libraries (it passes --with-nettle=1).
  "variables": { "with_nettle%": 0 },
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
  ],
  "conditions": [
    ["with_nettle==1", {
      "targets": [
        {
          "target_name": "cloister_p384",
          "sources": ["attestation/native/p384.c"],
          "include_dirs": ["native"],
          "cflags": ["-Wall", "-Wextra", "-std=gnu11"],
          "libraries": ["-lhogweed", "-lnettle", "-lgmp"]
        }
      ]
    }]
  ]
}
