/** core/v1 ConfigMap and Secret. */
import { boolean, Infer, map, string } from '../schema';
import { kubeObject } from './meta';

export const ConfigMapSchema = kubeObject('v1', 'ConfigMap', {
  immutable: boolean(),
  data: map(string()),
  /** Values are base64. */
  binaryData: map(string({ format: 'byte' })),
});
export type ConfigMap = Infer<typeof ConfigMapSchema>;

export const SecretSchema = kubeObject('v1', 'Secret', {
  immutable: boolean(),
  /** Values are base64. */
  data: map(string({ format: 'byte' })),
  /** Write-only plain-text values, merged into `data` by defaulting. */
  stringData: map(string()),
  type: string(),
});
export type Secret = Infer<typeof SecretSchema>;
