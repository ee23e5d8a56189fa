import { describe, expect, it } from 'vitest';
import { rewriteStreamUrl } from '../../src/lib/open.js';

describe('the StreamUrl sent to AWS_ENDPOINT_URL_SSMMESSAGES', () => {
  const streamUrl = 'wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/ann-0123456789abcdef0?role=publish_subscribe&cell-number=AAEAAQ';

  it('takes the endpoint\'s scheme, host and port, and keeps its own path and query', () => {
    expect(rewriteStreamUrl(streamUrl, 'https://vpce-0abc-ssmmessages.us-east-1.vpce.amazonaws.com')).toBe(
      'wss://vpce-0abc-ssmmessages.us-east-1.vpce.amazonaws.com/v1/data-channel/ann-0123456789abcdef0?role=publish_subscribe&cell-number=AAEAAQ',
    );
    expect(rewriteStreamUrl(streamUrl, 'http://127.0.0.1:8080/ignored/path')).toBe('ws://127.0.0.1:8080/v1/data-channel/ann-0123456789abcdef0?role=publish_subscribe&cell-number=AAEAAQ');
    expect(rewriteStreamUrl(streamUrl, 'https://[::1]:8443')).toBe('wss://[::1]:8443/v1/data-channel/ann-0123456789abcdef0?role=publish_subscribe&cell-number=AAEAAQ');
  });

  it('without one, the StreamUrl is used as given', () => expect(rewriteStreamUrl(streamUrl, undefined)).toBe(streamUrl));
});
