/**
 * A graph of one model node `clf` over `input` [-1, 4], answering `label`, as a user would write it (with a
 * comment line, and a comment after the node, so tests can see that a stored copy keeps them). `model` is
 * written as given: a relative path means relative to the graph file, or to the first GRAPHS_DIR when posted.
 */
export function oneModelGraphYaml(name: string, model: string, comment = `graph ${name}`): string {
  return `# ${comment}
apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata:
  name: ${name}
spec:
  inputs: [{name: input, datatype: FP32, shape: [-1, 4]}]
  nodes:
    - {name: clf, type: model, inputs: [graph.inputs], model: {uri: ${model}}}   # the classifier
  outputs: [clf.outputs.label]
`;
}

/**
 * Version `version` of graph "pair": one transformer on workers answering x - <version>, so each version's
 * output says which version answered.
 */
export function pairVersionYaml(version: string): string {
  return `apiVersion: infergraph.dev/v1alpha1
kind: InferenceGraph
metadata: {name: pair}
spec:
  version: "${version}"
  inputs: [{name: x, datatype: FP32, shape: [-1, 1]}]
  nodes:
    - {name: shift, type: transformer, inputs: [graph.inputs.x], transformer: {steps: [{op: standardize, tensor: x, mean: [${version}], std: [1]}]}}
  outputs: [shift.outputs.x]
`;
}
