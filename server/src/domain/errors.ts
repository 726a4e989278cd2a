// Expected failures, typed. Mapped once to tRPC errors, HTTP statuses and websocket close codes.
export type DomainErrorCode = 'UNAUTHORIZED' | 'NOT_FOUND' | 'FORBIDDEN' | 'CONFLICT' | 'INVALID_INPUT' | 'PAYLOAD_TOO_LARGE';

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const httpStatusOf: Record<DomainErrorCode, number> = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_INPUT: 400,
  PAYLOAD_TOO_LARGE: 413,
};

/** Websocket close codes, as hocuspocus and tldraw use them. */
export const closeCodeOf: Record<DomainErrorCode, number> = {
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
  NOT_FOUND: 4404,
  CONFLICT: 4409,
  INVALID_INPUT: 4400,
  PAYLOAD_TOO_LARGE: 4413,
};
