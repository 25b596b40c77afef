export * from './import.types';
export { importSeldon, SELDON_API_VERSION } from './seldon.importer';
export { importKserve, convertCondition, KSERVE_API_VERSION } from './kserve.importer';
