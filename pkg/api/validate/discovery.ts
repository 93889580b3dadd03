/** EndpointSlices, as Kubernetes' pkg/apis/discovery/validation. */
import { FieldError, FieldPath } from '../field';
import { AddressTypes, EndpointSlice } from '../types';
import { validateDNS1123Label, validateProtocol } from './container';
import { validateMetadataOf } from './meta';
import { isIPv4, isIPv6, isValidPortNum, nameIsDNSSubdomain } from './names';

const MAX_ADDRESSES = 100;
const MAX_ENDPOINTS = 1000;
const MAX_PORTS = 20000;

function validateAddress(address: string, addressType: string, path: FieldPath): FieldError[] {
  if (addressType === 'IPv4' && !isIPv4(address))
    return [FieldError.invalid(path, address, 'must be a valid IPv4 address')];
  if (addressType === 'IPv6' && !isIPv6(address))
    return [FieldError.invalid(path, address, 'must be a valid IPv6 address')];
  if (addressType === 'FQDN') {
    const problems = nameIsDNSSubdomain(address, false);
    return problems.map((message) => FieldError.invalid(path, address, message));
  }
  return [];
}

export function validateEndpointSlice(slice: EndpointSlice): FieldError[] {
  const errors = validateMetadataOf(slice);
  const addressType = slice.addressType;
  if (!addressType) errors.push(FieldError.required(FieldPath.root('addressType')));
  else if (!(AddressTypes as readonly string[]).includes(addressType))
    errors.push(FieldError.notSupported(FieldPath.root('addressType'), addressType, AddressTypes));

  const endpoints = slice.endpoints ?? [];
  if (endpoints.length > MAX_ENDPOINTS)
    errors.push(FieldError.tooMany(FieldPath.root('endpoints'), endpoints.length, MAX_ENDPOINTS));
  endpoints.forEach((endpoint, i) => {
    const path = FieldPath.root('endpoints').index(i);
    const addresses = endpoint.addresses ?? [];
    if (addresses.length === 0)
      errors.push(FieldError.required(path.child('addresses'), 'must contain at least 1 address'));
    else if (addresses.length > MAX_ADDRESSES)
      errors.push(FieldError.tooMany(path.child('addresses'), addresses.length, MAX_ADDRESSES));
    addresses.forEach((address, j) =>
      errors.push(...validateAddress(address, addressType ?? '', path.child('addresses').index(j))),
    );
    if (endpoint.hostname) errors.push(...validateDNS1123Label(endpoint.hostname, path.child('hostname')));
    if (endpoint.nodeName) {
      errors.push(
        ...nameIsDNSSubdomain(endpoint.nodeName, false).map((message) =>
          FieldError.invalid(path.child('nodeName'), endpoint.nodeName, message),
        ),
      );
    }
  });

  const ports = slice.ports ?? [];
  if (ports.length > MAX_PORTS)
    errors.push(FieldError.tooMany(FieldPath.root('ports'), ports.length, MAX_PORTS));
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const path = FieldPath.root('ports').index(i);
    const name = port.name ?? '';
    if (name !== '') errors.push(...validateDNS1123Label(name, path.child('name')));
    if (names.has(name)) errors.push(FieldError.duplicate(path.child('name'), name));
    names.add(name);
    if (port.port !== undefined && port.port !== 0)
      errors.push(
        ...isValidPortNum(port.port).map((message) =>
          FieldError.invalid(path.child('port'), port.port, message),
        ),
      );
    errors.push(...validateProtocol(port.protocol, path.child('protocol')));
  });
  return errors;
}

export function validateEndpointSliceUpdate(next: EndpointSlice, previous: EndpointSlice): FieldError[] {
  if (next.addressType === previous.addressType) return [];
  return [FieldError.invalid(FieldPath.root('addressType'), next.addressType, 'field is immutable')];
}
