import { PutObjectCommand, type PutObjectCommandOutput, S3ServiceException } from '@aws-sdk/client-s3';
import type { StreamUpload } from './s3-multipart';

/** What a store has learnt of its server, shared by its uploads. */
export interface ServerTraits {
  /**
   * Whether the server answered a SHA-256 checksum sent with a signed upload by confirming it;
   * unknown until the store's first such upload.
   */
  confirmsChecksums?: boolean;
}

/** Answers that refuse the request itself (its headers or its unsigned payload), not the body. */
const REFUSALS = new Set([400, 403, 501]);

/**
 * The PutObject of a body that fits one part. With the caller's SHA-256 the SDK hashes nothing:
 * it would otherwise hash the body twice (SHA-256 for SigV4's payload hash, CRC32 for its
 * checksum) before sending it, and the server twice more to check them.
 * - The store's first upload goes with the digest as its signed payload hash, which every SigV4
 *   server checks, and as S3's checksum. Whether the server confirms that checksum is remembered.
 * - To a server that does, later uploads go as UNSIGNED-PAYLOAD with the digest as their checksum:
 *   the checksum header is signed and the server refuses a body that does not match it, so the
 *   bytes stay bound to the signature and are hashed once on each side.
 * - An unsigned upload that is refused or not confirmed goes again signed, as do all later ones.
 * - Without checksums (AWS_REQUEST_CHECKSUM_CALCULATION=when_required, for servers that refuse
 *   them) only the signed payload hash is sent.
 * Either way the digest a shard's sidecar records is one the server checked the bytes against.
 */
export async function putObject(upload: StreamUpload, Body: Buffer, checksums: boolean): Promise<void> {
  const { client, bucket, key, contentType, server, signal } = upload;
  const input = { Bucket: bucket, Key: key, ContentType: contentType, Body };
  const hex = upload.sha256?.();
  if (!hex) {
    await client.send(new PutObjectCommand(input));
    return;
  }
  const ChecksumSHA256 = checksums ? Buffer.from(hex, 'hex').toString('base64') : undefined;
  const send = (payloadHash: string): Promise<PutObjectCommandOutput> => {
    const command = new PutObjectCommand({ ...input, ChecksumSHA256 });
    // The signer takes a payload hash it finds in the headers instead of hashing the body.
    command.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) request.headers['x-amz-content-sha256'] = payloadHash;
        return next(args);
      },
      { step: 'build', name: 'synfarmPayloadHash' },
    );
    return client.send(command);
  };
  if (ChecksumSHA256 && server.confirmsChecksums) {
    try {
      if ((await send('UNSIGNED-PAYLOAD')).ChecksumSHA256 === ChecksumSHA256) return;
    } catch (error) {
      const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
      if (status === undefined || !REFUSALS.has(status)) throw error;
    }
    server.confirmsChecksums = false;
    signal?.throwIfAborted();
  }
  const stored = await send(hex);
  if (ChecksumSHA256) server.confirmsChecksums ??= stored.ChecksumSHA256 === ChecksumSHA256;
}
