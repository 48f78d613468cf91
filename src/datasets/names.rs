//! Fixed vocabularies: names, mail domains, user agents, usernames scanners try, URL paths.

pub(crate) const FIRST_NAMES: &[&str] = &[
    "Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Isabel", "Jack", "Karen",
    "Liam", "Maria", "Noah", "Olivia", "Peter", "Quinn", "Rachel", "Samuel", "Tara", "Umar",
    "Victor", "Wendy", "Xavier", "Yasmin", "Zoe", "Aaron", "Bella", "Chloe", "Daniel", "Elena",
    "Felix", "Gabriel", "Hannah", "Ivan", "Julia", "Kevin", "Laura", "Mohammed", "Nina", "Oscar",
    "Priya", "Raj", "Sofia", "Thomas", "Uma", "Wei", "Yuki", "Leon", "Mei", "Omar", "Sara",
    "Lucas", "Anna", "Diego", "Fatima", "Hugo", "Irene", "Jonas", "Kenji",
];

pub(crate) const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Patel",
    "Kim",
    "Chen",
    "Schmidt",
    "Muller",
    "Rossi",
    "Kowalski",
    "Novak",
    "Sato",
    "Singh",
    "Khan",
    "Okafor",
    "Silva",
    "Dubois",
];

pub(crate) const MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "hotmail.com",
    "icloud.com",
    "proton.me",
    "aol.com",
    "gmx.de",
    "web.de",
    "yahoo.co.uk",
    "live.com",
];

pub(crate) const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 Edg/123.0.2420.97",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
];

/// Usernames internet SSH scanners guess.
pub(crate) const SCAN_USERS: &[&str] = &[
    "root",
    "admin",
    "ubuntu",
    "test",
    "user",
    "oracle",
    "postgres",
    "guest",
    "ftpuser",
    "git",
    "jenkins",
    "hadoop",
    "pi",
    "support",
    "administrator",
    "mysql",
    "dev",
    "test1",
    "nagios",
    "tomcat",
    "elastic",
    "ec2-user",
    "centos",
    "steam",
    "odoo",
    "sol",
    "validator",
    "www",
    "docker",
    "minecraft",
    "user1",
    "es",
    "ts3",
];

/// Attacker tooling user agents for HTTP logins.
pub(crate) const ATTACK_HTTP_UAS: &[&str] = &[
    "python-requests/2.31.0",
    "python-requests/2.28.1",
    "Go-http-client/1.1",
    "curl/8.4.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36",
    "okhttp/4.12.0",
    "axios/1.6.2",
];

/// Attacker tooling user agents for AWS APIs.
pub(crate) const ATTACK_AWS_UAS: &[&str] = &[
    "aws-cli/2.13.25 Python/3.11.5 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off",
    "aws-cli/1.29.4 Python/3.11.4 Linux/6.3.0-kali1-amd64 botocore/1.31.4",
    "Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux#6.1.0-13-amd64 md/arch#x86_64 lang/python#3.11.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.57",
    "aws-sdk-go/1.44.327 (go1.21.1; linux; amd64)",
    "aws-cli/2.15.30 Python/3.11.8 Windows/10 exe/AMD64 prompt/off",
    "Boto3/1.34.11 md/Botocore#1.34.11 ua/2.0 os/macos#23.2.0 md/arch#arm64 lang/python#3.12.1 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.11",
];

/// Bulk-download tools seen in S3 exfiltration.
pub(crate) const EXFIL_UAS: &[&str] = &[
    "rclone/v1.65.0",
    "S3 Browser/11.5.7 https://s3browser.com",
    "Cyberduck/8.7.1.40670 (Mac OS X/14.1) (x86_64)",
    "aws-cli/2.15.10 Python/3.11.6 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off command/s3.sync",
    "aws-cli/1.32.2 Python/3.10.12 Linux/5.15.0-91-generic botocore/1.34.2",
];

/// Application API paths (`{}` gets an id).
pub(crate) const APP_PATHS: &[&str] = &[
    "/api/v1/orders",
    "/api/v1/orders/{}",
    "/api/v1/customers",
    "/api/v1/customers/{}",
    "/api/v1/invoices",
    "/api/v1/invoices/{}",
    "/api/v1/products",
    "/api/v1/products/{}",
    "/api/v1/reports/monthly",
    "/api/v1/users/me",
    "/api/v1/search",
    "/api/v1/cart",
    "/api/v1/notifications",
    "/api/v2/shipments/{}",
];

pub(crate) const FILE_PATHS: &[&str] = &[
    "/files/shared/finance/Q1-report.xlsx",
    "/files/shared/hr/handbook.pdf",
    "/files/shared/eng/architecture.pdf",
    "/files/home/{}/notes.txt",
    "/files/shared/sales/pipeline.csv",
    "/files/shared/legal/contract-template.docx",
    "/files/shared/eng/runbook.md",
];

pub(crate) const ADMIN_PATHS: &[&str] = &[
    "/api/v1/admin/users",
    "/api/v1/admin/audit",
    "/api/v1/admin/settings",
];

pub(crate) const COUNTRIES_ATTACK: &[&str] = &[
    "RU", "CN", "BR", "NL", "DE", "US", "VN", "IN", "UA", "RO", "SG", "FR", "KR", "ID", "TR", "IR",
];
