import { CodedError } from '../contract/coded-error';

/** The stable codes of everything that can go wrong reading, writing or building an enclave image. */
export type ImageErrorCode =
  /** The EIF ends before its header or a section it announces. */
  | 'EIF_TRUNCATED'
  /** The file does not start with the EIF magic `.eif`. */
  | 'EIF_BAD_MAGIC'
  /** An EIF format version this reader does not know. */
  | 'EIF_BAD_VERSION'
  /** The header's section table is inconsistent: overlapping, out of order, past the end, gaps. */
  | 'EIF_BAD_SECTIONS'
  /** A section header disagrees with the table, or has an unknown type or flags. */
  | 'EIF_BAD_SECTION_HEADER'
  /** The CRC32 in the header is not the CRC of the file. */
  | 'EIF_BAD_CRC'
  /** The signature section could not be read. */
  | 'EIF_BAD_SIGNATURE'
  /** A Nitro boot blob (kernel, cmdline, init, nsm.ko) is missing or unreadable. */
  | 'BLOB_MISSING'
  /** The Docker image has neither CMD nor ENTRYPOINT, so the enclave would have nothing to run. */
  | 'IMAGE_NO_COMMAND'
  /** The image's command or environment holds a character the enclave's init cannot read. */
  | 'IMAGE_BAD_COMMAND'
  /** The image's file system (a `docker export` tar) is malformed or has an entry a ramdisk cannot hold. */
  | 'IMAGE_BAD_TAR'
  /** An input is larger than the format can describe. */
  | 'IMAGE_TOO_LARGE';

/** An error reading, writing or building an enclave image: a stable code and what to do about it. */
export class ImageError extends CodedError<ImageErrorCode> {}
