//! The AWS API vocabulary shared by benign activity and attacks: which calls exist per service and
//! what their `requestParameters` look like.

use rand::Rng;

use super::clock::MIN;
use super::cloudtrail::{CtEvent, Kind, Who};
use super::population::Population;
use super::util::{Rng8, key_from, pick};

/// Read-only calls a person or tool makes while looking around (regional unless noted).
pub(crate) const REGIONAL_READS: &[(&str, &str)] = &[
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("ec2.amazonaws.com", "DescribeSecurityGroups"),
    ("ec2.amazonaws.com", "DescribeVpcs"),
    ("ec2.amazonaws.com", "DescribeSubnets"),
    ("ec2.amazonaws.com", "DescribeVolumes"),
    ("ec2.amazonaws.com", "DescribeSnapshots"),
    ("ec2.amazonaws.com", "DescribeKeyPairs"),
    ("ec2.amazonaws.com", "DescribeRegions"),
    ("lambda.amazonaws.com", "ListFunctions20150331"),
    ("lambda.amazonaws.com", "GetFunction20150331v2"),
    ("kms.amazonaws.com", "ListKeys"),
    ("kms.amazonaws.com", "ListAliases"),
    ("kms.amazonaws.com", "DescribeKey"),
    ("secretsmanager.amazonaws.com", "ListSecrets"),
    ("rds.amazonaws.com", "DescribeDBInstances"),
    ("logs.amazonaws.com", "DescribeLogGroups"),
    ("dynamodb.amazonaws.com", "ListTables"),
    ("ecr.amazonaws.com", "DescribeRepositories"),
    ("sns.amazonaws.com", "ListTopics"),
    ("sqs.amazonaws.com", "ListQueues"),
    (
        "elasticloadbalancing.amazonaws.com",
        "DescribeLoadBalancers",
    ),
    ("guardduty.amazonaws.com", "ListDetectors"),
    ("ssm.amazonaws.com", "DescribeParameters"),
];

/// Read-only calls on global services (recorded in us-east-1).
pub(crate) const GLOBAL_READS: &[(&str, &str)] = &[
    ("iam.amazonaws.com", "ListUsers"),
    ("iam.amazonaws.com", "ListRoles"),
    ("iam.amazonaws.com", "ListPolicies"),
    ("iam.amazonaws.com", "ListGroups"),
    ("iam.amazonaws.com", "GetAccountSummary"),
    ("iam.amazonaws.com", "GetAccountAuthorizationDetails"),
    ("iam.amazonaws.com", "ListAccessKeys"),
    ("iam.amazonaws.com", "ListAttachedUserPolicies"),
    ("iam.amazonaws.com", "GetUser"),
    ("iam.amazonaws.com", "ListMFADevices"),
    ("s3.amazonaws.com", "ListBuckets"),
    ("s3.amazonaws.com", "GetBucketPolicy"),
    ("s3.amazonaws.com", "GetBucketAcl"),
    ("s3.amazonaws.com", "GetBucketVersioning"),
    ("s3.amazonaws.com", "GetBucketEncryption"),
    ("cloudtrail.amazonaws.com", "DescribeTrails"),
    ("cloudtrail.amazonaws.com", "GetTrailStatus"),
    ("organizations.amazonaws.com", "DescribeOrganization"),
    ("organizations.amazonaws.com", "ListAccounts"),
    ("sts.amazonaws.com", "GetCallerIdentity"),
];

/// `requestParameters` for a read call (`None` renders as `null`).
pub(crate) fn read_req(
    pop: &Population,
    rng: &mut Rng8,
    region: &str,
    name: &str,
    user: &str,
) -> Option<String> {
    let bucket = &pick(rng, &pop.buckets).name;
    let trail = pop.trails[0].0;
    Some(match name {
        "DescribeInstances" => {
            if rng.random_bool(0.3) {
                format!("{{\"instancesSet\":{{\"items\":[{{\"instanceId\":\"{}\"}}]}},\"filterSet\":{{}}}}", pick(rng, &pop.instances))
            } else {
                "{\"instancesSet\":{},\"filterSet\":{}}".to_string()
            }
        }
        "DescribeSecurityGroups" => "{\"securityGroupSet\":{},\"securityGroupIdSet\":{},\"filterSet\":{}}".into(),
        "DescribeVpcs" => "{\"vpcSet\":{},\"filterSet\":{}}".into(),
        "DescribeSubnets" => "{\"subnetSet\":{},\"filterSet\":{}}".into(),
        "DescribeVolumes" => "{\"volumeSet\":{},\"filterSet\":{},\"maxResults\":500}".into(),
        "DescribeSnapshots" => "{\"snapshotSet\":{},\"ownersSet\":{\"items\":[{\"owner\":\"self\"}]},\"sharedUsersSet\":{},\"filterSet\":{}}".into(),
        "DescribeKeyPairs" => "{\"keySet\":{},\"filterSet\":{}}".into(),
        "DescribeRegions" => "{\"regionSet\":{},\"allRegions\":false}".into(),
        "GetFunction20150331v2" => format!("{{\"functionName\":\"{}\"}}", pick(rng, pop.functions)),
        "ListKeys" => "{\"limit\":1000}".into(),
        "DescribeKey" => format!("{{\"keyId\":\"arn:aws:kms:{region}:{}:key/{}\"}}", pop.account, pick(rng, &pop.kms_keys)),
        "ListSecrets" => "{\"maxResults\":100}".into(),
        "GetSecretValue" => format!("{{\"secretId\":\"{}\"}}", pick(rng, &["prod/db/password", "prod/stripe/api-key", "prod/app/jwt-signing-key", "staging/db/password"])),
        "DescribeLogGroups" => "{\"limit\":50}".into(),
        "FilterLogEvents" => format!("{{\"logGroupName\":\"/aws/lambda/{}\",\"limit\":100,\"interleaved\":true}}", pick(rng, pop.functions)),
        "DescribeLogStreams" => format!("{{\"logGroupName\":\"/aws/lambda/{}\",\"orderBy\":\"LastEventTime\",\"descending\":true}}", pick(rng, pop.functions)),
        "ListTables" => "{\"limit\":100}".into(),
        "DescribeRepositories" => "{\"maxResults\":100}".into(),
        "DescribeLoadBalancers" => "{\"pageSize\":400}".into(),
        "DescribeParameters" => "{\"maxResults\":50}".into(),
        "ListAttachedUserPolicies" | "GetUser" | "ListAccessKeys" | "ListMFADevices" => {
            if user.is_empty() {
                return None;
            }
            format!("{{\"userName\":\"{user}\"}}")
        }
        "ListPolicies" => "{\"scope\":\"Local\",\"onlyAttached\":false,\"maxItems\":100}".into(),
        "GetAccountAuthorizationDetails" => "{\"filter\":[\"User\",\"Role\",\"Group\",\"LocalManagedPolicy\"]}".into(),
        "ListBuckets" => "{\"Host\":\"s3.amazonaws.com\"}".into(),
        "GetBucketPolicy" => format!("{{\"bucketName\":\"{bucket}\",\"Host\":\"{bucket}.s3.amazonaws.com\",\"policy\":\"\"}}"),
        "GetBucketAcl" => format!("{{\"bucketName\":\"{bucket}\",\"Host\":\"{bucket}.s3.amazonaws.com\",\"acl\":\"\"}}"),
        "GetBucketVersioning" => format!("{{\"bucketName\":\"{bucket}\",\"Host\":\"{bucket}.s3.amazonaws.com\",\"versioning\":\"\"}}"),
        "GetBucketEncryption" => format!("{{\"bucketName\":\"{bucket}\",\"Host\":\"{bucket}.s3.amazonaws.com\",\"encryption\":\"\"}}"),
        "DescribeTrails" => "{\"includeShadowTrails\":false}".into(),
        "GetTrailStatus" | "GetEventSelectors" => format!("{{\"name\":\"{}\"}}", pop.trail_arn(trail, "us-east-1")),
        "LookupEvents" => "{\"maxResults\":50}".into(),
        "GetRole" | "ListAttachedRolePolicies" => format!("{{\"roleName\":\"{}\"}}", pick(rng, &pop.roles).name),
        _ => return None,
    })
}

/// `[{"accountId":…,"type":…,"ARN":…}]` for a single resource.
pub(crate) fn one_resource(account: &str, ty: &str, arn: &str) -> String {
    format!("[{{\"accountId\":\"{account}\",\"type\":\"{ty}\",\"ARN\":\"{arn}\"}}]")
}

/// Request/response/extra fields of an S3 object-level data event.
#[allow(clippy::too_many_arguments)]
pub(crate) fn s3_object(
    pop: &Population,
    who: Who,
    name: &'static str,
    bucket: &str,
    region: &'static str,
    key: &str,
    ip: &str,
    ua: &str,
    bytes_out: u64,
) -> CtEvent {
    let host = format!("{bucket}.s3.{region}.amazonaws.com");
    let (bin, bout) = if name == "PutObject" {
        (bytes_out, 0)
    } else {
        (0, bytes_out)
    };
    CtEvent::api(who, "s3.amazonaws.com", name, region, ip, ua)
        .req(format!("{{\"bucketName\":\"{bucket}\",\"Host\":\"{host}\",\"key\":\"{key}\"}}"))
        .extra(format!(
            "{{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"bytesTransferredIn\":{bin},\"AuthenticationMethod\":\"AuthHeader\",\"x-amz-id-2\":\"{}\",\"bytesTransferredOut\":{bout}}}",
            key_from(bytes_out ^ key.len() as u64)
        ))
        .resources(format!(
            "[{{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::{bucket}/{key}\"}},{{\"accountId\":\"{}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{bucket}\"}}]",
            pop.account
        ))
        .host(host)
        .data()
}

/// A ConsoleLogin record (success or failure, with or without MFA).
pub(crate) fn console_login(
    pop: &Population,
    who: Who,
    ip: &str,
    ua: &str,
    ok: bool,
    mfa: bool,
) -> CtEvent {
    let mfa_id = match &who {
        Who::UserLogin { idx } if mfa => format!(
            ",\"MFAIdentifier\":\"arn:aws:iam::{}:mfa/{}\"",
            pop.account, pop.iam_users[*idx].name
        ),
        Who::Root { .. } if mfa => format!(
            ",\"MFAIdentifier\":\"arn:aws:iam::{}:mfa/root-account-mfa-device\"",
            pop.account
        ),
        _ => String::new(),
    };
    let hidden = matches!(who, Who::Hidden);
    let mut ev = CtEvent::api(who, "signin.amazonaws.com", "ConsoleLogin", "us-east-1", ip, ua)
        .kind(Kind::ConsoleSignIn)
        .resp(format!("{{\"ConsoleLogin\":\"{}\"}}", if ok { "Success" } else { "Failure" }))
        .extra(format!(
            "{{\"LoginTo\":\"https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_{}\",\"MobileVersion\":\"No\"{mfa_id},\"MFAUsed\":\"{}\"}}",
            key_from(ip.len() as u64 ^ u64::from(ok)).to_ascii_lowercase(),
            if mfa { "Yes" } else { "No" }
        ));
    ev.read_only = false;
    if !ok {
        let msg = if hidden {
            "No username found in supplied account"
        } else {
            "Failed authentication"
        };
        // Failed sign-ins carry an errorMessage but no errorCode.
        ev.error = Some(("", msg.to_string()));
    }
    ev
}

/// The creation time shown for a role session in use at `t` (sessions renew hourly).
pub(crate) fn session_start(t: i64) -> i64 {
    t - t.rem_euclid(60 * MIN) - 7 * MIN - 13_000
}
