/**
 * AWS's partitions, as the SDKs' endpoint rules know them (the `partitions.json` every AWS SDK
 * carries; facts, restated): the DNS suffixes of each, and which regions belong to it. A region
 * no pattern matches is taken to be in `aws`, as the SDKs take it. Every partition supports FIPS
 * and dual-stack endpoints. test/unit/json-api.test.ts holds the endpoints made from this table
 * against the SDK's own resolver, so that a partition the SDK learns of is noticed.
 */
export interface Partition {
  name: string;
  dnsSuffix: string;
  dualStackDnsSuffix: string;
}

const PARTITIONS: Array<Partition & { regions: RegExp; global: string }> = [
  { name: 'aws', regions: /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/, global: 'aws-global', dnsSuffix: 'amazonaws.com', dualStackDnsSuffix: 'api.aws' },
  { name: 'aws-cn', regions: /^cn-\w+-\d+$/, global: 'aws-cn-global', dnsSuffix: 'amazonaws.com.cn', dualStackDnsSuffix: 'api.amazonwebservices.com.cn' },
  { name: 'aws-eusc', regions: /^eusc-(de)-\w+-\d+$/, global: '', dnsSuffix: 'amazonaws.eu', dualStackDnsSuffix: 'api.amazonwebservices.eu' },
  { name: 'aws-iso', regions: /^us-iso-\w+-\d+$/, global: 'aws-iso-global', dnsSuffix: 'c2s.ic.gov', dualStackDnsSuffix: 'api.aws.ic.gov' },
  { name: 'aws-iso-b', regions: /^us-isob-\w+-\d+$/, global: 'aws-iso-b-global', dnsSuffix: 'sc2s.sgov.gov', dualStackDnsSuffix: 'api.aws.scloud' },
  { name: 'aws-iso-e', regions: /^eu-isoe-\w+-\d+$/, global: 'aws-iso-e-global', dnsSuffix: 'cloud.adc-e.uk', dualStackDnsSuffix: 'api.cloud-aws.adc-e.uk' },
  { name: 'aws-iso-f', regions: /^us-isof-\w+-\d+$/, global: 'aws-iso-f-global', dnsSuffix: 'csp.hci.ic.gov', dualStackDnsSuffix: 'api.aws.hci.ic.gov' },
  { name: 'aws-us-gov', regions: /^us-gov-\w+-\d+$/, global: 'aws-us-gov-global', dnsSuffix: 'amazonaws.com', dualStackDnsSuffix: 'api.aws' },
];

export function partitionOf(region: string): Partition {
  const found = PARTITIONS.find((partition) => partition.global === region) ?? PARTITIONS.find((partition) => partition.regions.test(region)) ?? PARTITIONS[0]!;
  return { name: found.name, dnsSuffix: found.dnsSuffix, dualStackDnsSuffix: found.dualStackDnsSuffix };
}
