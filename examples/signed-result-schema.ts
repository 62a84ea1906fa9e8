import { z } from 'zod';

/** How every example documents the signed result it serves beside a final answer. */
export const SignedResultJws = z
  .string()
  .describe(
    "The result as a compact JWS (ES384) by the enclave's results key, whose thumbprint every attestation document of this instance binds; its header carries the key and such a document. Check it offline with `cloister verify-result`.",
  );
