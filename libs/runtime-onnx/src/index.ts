export * from './onnx-model.loader';
export * from './onnx-datatype.map';
export * from './onnx-signature.reader';
