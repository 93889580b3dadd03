/** core/v1 ConfigMap and Secret. */
import { boolean, Infer, map, object, string } from '../schema';
import { ObjectMetaSchema, typeMeta } from './meta';

export const ConfigMapSchema = object(
  {
    ...typeMeta('v1', 'ConfigMap'),
    metadata: ObjectMetaSchema,
    immutable: boolean(),
    data: map(string()),
    /** Values are base64. */
    binaryData: map(string({ format: 'byte' })),
  },
  { required: ['apiVersion', 'kind', 'metadata'] },
);
export type ConfigMap = Infer<typeof ConfigMapSchema>;

export const SecretSchema = object(
  {
    ...typeMeta('v1', 'Secret'),
    metadata: ObjectMetaSchema,
    immutable: boolean(),
    /** Values are base64. */
    data: map(string({ format: 'byte' })),
    /** Write-only plain-text values, merged into `data` by defaulting. */
    stringData: map(string()),
    type: string(),
  },
  { required: ['apiVersion', 'kind', 'metadata'] },
);
export type Secret = Infer<typeof SecretSchema>;
