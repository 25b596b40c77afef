export * from './onnx-model.loader';
export * from './onnx-datatype.map';
