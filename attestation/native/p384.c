/*
 * cloister_p384: ECDSA P-384 signature verification with Nettle, for Node through plain N-API.
 *
 *   verify(x, y, digest, r, s) -> boolean
 *
 * Every argument is a 48-byte Buffer, big-endian: the public key's affine coordinates, the
 * SHA-384 digest of the signed bytes, and the signature's two halves. Answers false for a point
 * that is not on the curve, for r or s outside [1, n-1] (Nettle checks), and for a signature that
 * does not match; throws only for arguments of the wrong type or size. OpenSSL 3.0, which Node 20
 * carries, has no fast P-384 code; Nettle's verifies in about half the time. Which bytes are
 * hashed, and every other rule of a document, stay in TypeScript.
 */
#define NAPI_VERSION 8
#define ADDON_NAME "cloister_p384"
#include <node_api.h>

#include <gmp.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <stdbool.h>
#include <stdint.h>

#include "napi-errors.h"

#define FIELD_BYTES 48

/* The i-th argument as a pointer to exactly FIELD_BYTES bytes, or NULL with a TypeError thrown. */
static const uint8_t *field_argument(napi_env env, napi_value value, const char *name) {
  bool is_buffer = false;
  void *data = NULL;
  size_t length = 0;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, value, &data, &length) != napi_ok || length != FIELD_BYTES) {
    char message[96];
    snprintf(message, sizeof message, ADDON_NAME ": %s must be a Buffer of %d bytes", name, FIELD_BYTES);
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  return data;
}

static void import_field(mpz_t out, const uint8_t *bytes) { mpz_import(out, FIELD_BYTES, 1, 1, 1, 0, bytes); }

static napi_value verify(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 5) {
    napi_throw_type_error(env, NULL, ADDON_NAME ": verify takes (x, y, digest, r, s)");
    return NULL;
  }
  static const char *const names[5] = {"x", "y", "digest", "r", "s"};
  const uint8_t *args[5];
  for (int i = 0; i < 5; i++) {
    args[i] = field_argument(env, argv[i], names[i]);
    if (args[i] == NULL) return NULL;
  }

  mpz_t x, y;
  mpz_init(x);
  mpz_init(y);
  import_field(x, args[0]);
  import_field(y, args[1]);
  struct ecc_point key;
  ecc_point_init(&key, nettle_get_secp_384r1());
  /* ecc_point_set refuses coordinates that are not a point on the curve (or are out of range). */
  bool valid = ecc_point_set(&key, x, y) == 1;
  if (valid) {
    struct dsa_signature signature;
    dsa_signature_init(&signature);
    import_field(signature.r, args[3]);
    import_field(signature.s, args[4]);
    valid = ecdsa_verify(&key, FIELD_BYTES, args[2], &signature) == 1;
    dsa_signature_clear(&signature);
  }
  ecc_point_clear(&key);
  mpz_clear(x);
  mpz_clear(y);

  napi_value result;
  CHECK(env, napi_get_boolean(env, valid, &result));
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  CHECK(env, napi_create_function(env, "verify", NAPI_AUTO_LENGTH, verify, NULL, &fn));
  CHECK(env, napi_set_named_property(env, exports, "verify", fn));
  return exports;
}
