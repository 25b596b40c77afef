export * from './datatype';
export * from './half-float';
export * from './tensor';
export * from './inference.error';
export * from './oip.schema';
export * from './tensor-data.codec';
export * from './oip-request.codec';
export * from './oip-response.codec';
