/**
 * The shapes of what passes between a program and ssmx's AWS side: what it may hand in for the AWS
 * calls, shaped as the AWS SDK for JavaScript shapes it (@smithy/types' AwsCredentialIdentity and
 * AwsCredentialIdentityProvider, @smithy/protocol-http's HttpRequest, HttpResponse and
 * HttpHandler), so that the SDK's own providers and handlers fit, and the instances it gets back.
 * They are declared here, naming no package: the SDK is bundled into ssmx, and a program using
 * ssmx as a library need not install it.
 */

/** Credentials for SigV4: the SDK's AwsCredentialIdentity. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  /** When temporary credentials stop working; ssmx asks its provider again before then. */
  expiration?: Date | undefined;
}

/** Gives credentials when asked, as the SDK's providers do (fromIni(), fromSSO(), fromTemporaryCredentials()…). */
export type AwsCredentialProvider = (properties?: Record<string, unknown>) => Promise<AwsCredentials>;

/** One HTTP request to an AWS API, as the SDK's HttpRequest carries it. */
export interface AwsHttpRequest {
  method: string;
  /** `https:` or `http:`. */
  protocol: string;
  hostname: string;
  port?: number | undefined;
  /** The path alone; the query is in `query`. */
  path: string;
  query?: Record<string, string | string[] | null> | undefined;
  headers: Record<string, string>;
  body?: unknown;
}

/** Its answer: the body whole (a string or bytes) or as a stream of bytes, as the SDK's handlers give it. */
export interface AwsHttpResponse {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body?: unknown;
}

/**
 * Sends AWS API requests in ssmx's place (the SDK's NodeHttpHandler, FetchHttpHandler, or a test's
 * own). ssmx never destroys one it was given: its owner does.
 */
export interface AwsRequestHandler {
  handle(request: AwsHttpRequest, options?: { abortSignal?: unknown; requestTimeout?: number }): Promise<{ response: AwsHttpResponse }>;
}

/** A managed instance, as `ssmx list` shows it and a person picks it. */
export interface ManagedInstance {
  id: string;
  name: string;
  ipAddress: string;
  platform: string;
  /** Linux, Windows or MacOS, as SSM reports it. */
  platformType: string;
  agentVersion: string;
  /** From EC2 (empty for an on-premises managed instance): its type, state and tags. */
  instanceType: string;
  state: string;
  tags: Record<string, string>;
  pingStatus: string;
}
