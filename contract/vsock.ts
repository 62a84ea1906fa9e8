/*
 * Where the parent and the enclave meet (DESIGN.md): vsock ports and CIDs, in the address syntax
 * of transport (`vsock://CID:PORT`).
 */

/** The vsock port of each channel between the parent and the enclave. */
export const VSOCK_PORTS = {
  /** The bridge connects to the enclave's ingress. */
  ingress: 5000,
  /** The enclave's egress proxy connects to the parent's relay. */
  egress: 5001,
  /** The parent pushes the runtime configuration to the enclave. */
  config: 5002,
  /** The enclave sends its log lines to the parent's sink. */
  logs: 5003,
} as const;

/** The parent instance's CID, as the enclave sees it. */
export const PARENT_CID = 3;

/** VMADDR_CID_ANY: listen on whatever CID the enclave was given. */
export const ANY_CID = 4294967295;

/** `vsock://CID:PORT`. */
export const vsockAddress = (cid: number, port: number): string => `vsock://${cid}:${port}`;
