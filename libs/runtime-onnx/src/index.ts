export * from './onnx-model.loader';
export * from './onnx-datatype.map';
export * from './onnx-signature.reader';
export * from './model-threads';
export * from './onnx-session.factory';
export * from './ort-session.handle';
export * from './ort-run.queue';
