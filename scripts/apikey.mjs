// `npm run apikey -- <subject>`: makes a random API key for predict, prints it once, and prints the line
// to add to PREDICT_API_KEYS_FILE (the key's SHA-256: the gateway never stores the key itself).
import { createHash, randomBytes } from 'node:crypto';

const subject = process.argv[2] ?? '';
if (!/^[A-Za-z0-9][A-Za-z0-9._@-]*$/.test(subject)) {
  console.error('usage: npm run apikey -- <subject>   (letters, digits, . _ @ -; the subject router conditions and logs see)');
  process.exit(2);
}
const key = `igk_${randomBytes(24).toString('base64url')}`;
console.log(`API key for ${subject} (shown once; send it as the x-api-key header):\n  ${key}`);
console.log(`line for PREDICT_API_KEYS_FILE:\n  ${subject}:sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`);
