"""Projects: the organization's project list, each project's detail, client keys and environments.

Shapes: ProjectSummarySerializer (GET /organizations/{org}/projects/), DetailedProjectSerializer
(GET /projects/{org}/{project}/), ProjectKeySerializer (GET /projects/{org}/{project}/keys/),
EnvironmentProjectSerializer (GET /projects/{org}/{project}/environments/).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Tuple

from .catalogues import DS_BIASES, GROUPING_CONFIG, LEGACY_GROUPING_CONFIG, PROJECT_FEATURES, TEAM_ACCESS
from .helpers import format_datetime, parse_datetime, random_hex
from .model import Record
from .organization import Organization
from .project_facts import ProjectInfo, base_project, newer_project_flags
from .releases import Deploys, ReleaseTimeline


@dataclass
class ProjectRecords:
    summaries: List[Record] = field(default_factory=list)                 # the project list's items
    details: Dict[str, Record] = field(default_factory=dict)              # project slug -> detail
    keys: Dict[str, List[Record]] = field(default_factory=dict)           # project slug -> client keys
    environments: Dict[str, List[Record]] = field(default_factory=dict)   # project slug -> environments


def build_project_records(rng: random.Random, infos: List[ProjectInfo], release_records: List[Record],
                          timeline: ReleaseTimeline, deploys: Deploys, team_refs: Dict[str, Record],
                          org: Organization, now: datetime) -> ProjectRecords:
    """Every project's records; a project's latest release and deploys come from the releases."""
    releases_by_project: Dict[int, List[Record]] = {p.index: [] for p in infos}
    for rec, (_, pidx, _) in zip(release_records, timeline.rows):
        for i in pidx:
            releases_by_project[i].append(rec)

    out = ProjectRecords()
    env_id = rng.randrange(10_000_000, 20_000_000)
    for p in infos:
        prels = releases_by_project[p.index]
        features = list(PROJECT_FEATURES) + (["releases"] if prels else [])
        latest_release = _latest_release(prels)
        latest_deploys = _latest_deploys(prels, deploys)
        team = team_refs[p.team_slug]
        base = base_project(p, features)
        out.summaries.append(_summary(p, base, team, features, latest_release, latest_deploys))
        out.details[p.slug] = _detail(rng, p, base, team, latest_release, org.record, now)
        out.keys[p.slug] = _client_keys(rng, p, org.dsn_host)
        out.environments[p.slug], env_id = _environments(rng, p, env_id)
    return out


def _latest_release(prels: List[Record]) -> Optional[Record]:
    latest_release = None
    if prels:
        best = max(prels, key=lambda r: parse_datetime(r["dateReleased"] or r["dateCreated"]))
        latest_release = {"version": best["version"]}
    return latest_release


def _latest_deploys(prels: List[Record], deploys: Deploys) -> Dict[str, Record]:
    """environment -> the latest deploy of the project's releases there."""
    deploy_facts = deploys.finished
    latest_deploys: Dict[str, Record] = {}
    for rec in prels:
        for env, finished in deploy_facts.get(rec["version"], []):
            cur = latest_deploys.get(env)
            if cur is None or parse_datetime(cur["dateFinished"]) < finished:
                latest_deploys[env] = {"version": rec["version"], "dateFinished": format_datetime(finished)}
    return latest_deploys


def _summary(p: ProjectInfo, base: Record, team: Record, features: List[str], latest_release: Optional[Record],
             latest_deploys: Dict[str, Record]) -> Record:
    summary: Record = {
        "team": team,
        "teams": [team],
        "id": p.id,
        "name": p.name,
        "slug": p.slug,
        "isBookmarked": p.is_bookmarked,
        "isMember": p.is_member,
        "access": list(TEAM_ACCESS),
        "hasAccess": True,
        "dateCreated": p.date_created,
        "environments": [e for e, hidden in p.environments if not hidden],
        "eventProcessing": {"symbolicationDegraded": False},
        "features": features,
        "firstEvent": p.first_event,
        "firstTransactionEvent": p.flags["firstTransactionEvent"],
        "hasSessions": p.flags["hasSessions"],
        "hasProfiles": p.flags["hasProfiles"],
        "hasReplays": p.flags["hasReplays"],
        "hasFeedbacks": p.flags["hasFeedbacks"],
        "hasNewFeedbacks": p.flags["hasNewFeedbacks"],
        "hasMonitors": p.flags["hasMonitors"],
        "hasMinifiedStackTrace": p.flags["hasMinifiedStackTrace"],
        "hasInsightsHttp": base["hasInsightsHttp"],
        "hasInsightsDb": base["hasInsightsDb"],
        "hasInsightsAssets": base["hasInsightsAssets"],
        "hasInsightsAppStart": base["hasInsightsAppStart"],
        "hasInsightsScreenLoad": base["hasInsightsScreenLoad"],
        "hasInsightsVitals": base["hasInsightsVitals"],
        "hasInsightsCaches": base["hasInsightsCaches"],
        "hasInsightsQueues": base["hasInsightsQueues"],
        **newer_project_flags(p),
        "platform": p.platform,
        "platforms": list(p.platforms),
        "latestRelease": latest_release,
        "hasUserReports": p.has_user_reports,
        "hasFlags": p.flags["hasFlags"],
        "latestDeploys": latest_deploys or None,
    }
    return summary


def _detail(rng: random.Random, p: ProjectInfo, base: Record, team: Record, latest_release: Optional[Record],
            org_record: Record, now: datetime) -> Record:
    security_token = random_hex(rng)
    origins = ["https://app.acme.io", "https://*.acme.io"] if p.event_platform == "javascript" else ["*"]
    sensitive = ["card_number", "iban"] if p.index % 2 else []
    detail: Record = dict(base)
    detail.update({
        "team": team,
        "teams": [team],
        "latestRelease": latest_release,
        "options": {
            "sentry:csp_ignored_sources_defaults": True,
            "sentry:csp_ignored_sources": "",
            "filters:blacklisted_ips": "10.0.0.0/8" if p.index == 1 else "",
            "filters:react-hydration-errors": True,
            "filters:chunk-load-error": True,
            "filters:releases": "",
            "filters:error_messages": "ResizeObserver loop limit exceeded" if p.event_platform == "javascript"
            else "",
            "feedback:branding": True,
            "sentry:feedback_user_report_notifications": True,
            "sentry:feedback_ai_spam_detection": False,
            "sentry:replay_rage_click_issues": True,
            "sentry:replay_hydration_error_issues": True,
            "sentry:toolbar_allowed_origins": "",
            "quotas:spike-protection-disabled": False,
        },
        "digestsMinDelay": 300,
        "digestsMaxDelay": 1800,
        "subjectPrefix": "",
        "allowedDomains": origins,
        "resolveAge": 0 if p.index % 2 else 720,
        "dataScrubber": True,
        "dataScrubberDefaults": True,
        "safeFields": [],
        "storeCrashReports": None,
        "sensitiveFields": sensitive,
        "subjectTemplate": "$shortID - $title",
        "securityToken": security_token,
        "securityTokenHeader": None,
        "verifySSL": False,
        "scrubIPAddresses": p.index == 1,
        "scrapeJavaScript": True,
        "highlightTags": ["handled", "level", "browser", "url"] if p.event_platform == "javascript"
        else ["handled", "level", "transaction", "server_name"],
        "highlightContext": {"trace": ["trace_id"]} if p.event_platform != "javascript"
        else {"browser": ["name"], "trace": ["trace_id"]},
        "highlightPreset": {"tags": ["handled", "level", "release", "environment"],
                            "context": {"trace": ["trace_id"]}},
        "groupingConfig": GROUPING_CONFIG,
        "groupingEnhancements": "",
        "groupingEnhancementsBase": None,
        "secondaryGroupingExpiry": 0 if p.index != 2 else int((now - timedelta(days=40)).timestamp()),
        "secondaryGroupingConfig": None if p.index != 2 else LEGACY_GROUPING_CONFIG,
        "fingerprintingRules": "" if p.index != 1 else "error.type:ReadTimeout -> stripe-timeouts",
        "organization": org_record,
        "plugins": [] if p.index != 1 else [_webhooks_plugin()],
        "platforms": list(p.platforms),
        "processingIssues": 0,
        "defaultEnvironment": None,
        "relayPiiConfig": None,
        "builtinSymbolSources": ["ios", "microsoft", "android"],
        "dynamicSamplingBiases": [{"id": b, "active": b != "boostReplayId"} for b in DS_BIASES],
        "eventProcessing": {"symbolicationDegraded": False},
        "symbolSources": "[]",
        "isDynamicallySampled": p.event_platform == "javascript",
        # settings in Sentry's published getProject schema (values as its example shows them; set
        # from the project, not drawn, so the rest of the data is as before)
        "enableAutoReleaseCreation": p.slug != "worker",
        "derivedGroupingEnhancements": "",
        "autofixAutomationTuning": ("medium", "off", "low")[p.index % 3],
        "seerScannerAutomation": p.index % 3 != 1,
        "seerNightshiftTweaks": None,
        "scmSourceContextEnabled": p.index % 3 == 1,
        "debugFilesRole": "admin" if p.index % 3 == 1 else None,
    })
    return detail


def _client_keys(rng: random.Random, p: ProjectInfo, dsn_host: str) -> List[Record]:
    keys = []
    for k in range(1 if p.index % 2 else 2):
        public, secret = random_hex(rng), random_hex(rng)
        base_url = f"https://{dsn_host}/api/{p.int_id}"
        label = "Default" if k == 0 else "Mobile app"
        keys.append({
            "id": public,
            "name": label,
            "label": label,
            "public": public,
            "secret": secret,
            "projectId": p.int_id,
            "isActive": k == 0 or rng.random() < 0.5,
            "rateLimit": None if k == 0 and p.index != 1 else {"window": 60, "count": 1000},
            "dsn": {
                "secret": f"https://{public}:{secret}@{dsn_host}/{p.int_id}",
                "public": f"https://{public}@{dsn_host}/{p.int_id}",
                "csp": f"{base_url}/csp-report/?sentry_key={public}",
                "security": f"{base_url}/security/?sentry_key={public}",
                "minidump": f"{base_url}/minidump/?sentry_key={public}",
                "nel": f"{base_url}/nel/?sentry_key={public}",
                "unreal": f"{base_url}/unreal/{public}/",
                "crons": f"{base_url}/cron/___MONITOR_SLUG___/{public}/",
                "cdn": f"https://js.sentry-cdn.com/{public}.min.js",
                "playstation": f"{base_url}/playstation/?sentry_key={public}",
                "integration": f"{base_url}/integration/",
                "otlp_traces": f"{base_url}/integration/otlp/v1/traces",
                "otlp_logs": f"{base_url}/integration/otlp/v1/logs",
            },
            "browserSdkVersion": "8.x",
            "browserSdk": {"choices": [["latest", "latest"], ["9.x", "9.x"], ["8.x", "8.x"], ["7.x", "7.x"]]},
            "dateCreated": format_datetime(p.created + timedelta(seconds=k * 86400 * 40 + 1,
                                                                 microseconds=rng.randrange(1, 999999))),
            "dynamicSdkLoaderOptions": {"hasReplay": p.event_platform == "javascript", "hasPerformance": True,
                                        "hasDebug": False, "hasFeedback": False, "hasLogsAndMetrics": False},
            "useCase": "user",  # keys users create; Sentry's internal keys have other use cases
        })
    return keys


def _environments(rng: random.Random, p: ProjectInfo, env_id: int) -> Tuple[List[Record], int]:
    """The project's environments and the last environment id used (ids grow across projects)."""
    envs = []
    for name, hidden in p.environments:
        env_id += rng.randrange(1, 3000)
        envs.append({"id": str(env_id), "name": name, "isHidden": hidden})
    return envs, env_id


def _webhooks_plugin() -> Record:
    return {
        "id": "webhooks",
        "name": "WebHooks",
        "slug": "webhooks",
        "shortName": "WebHooks",
        "type": "notification",
        "canDisable": True,
        "isTestable": True,
        "hasConfiguration": True,
        "metadata": {},
        "contexts": [],
        "status": "unknown",
        "assets": [],
        "doc": "",
        "firstPartyAlternative": None,
        "deprecationDate": None,
        "altIsSentryApp": None,
        "enabled": True,
        "version": "25.1.0",
        "author": {"name": "Sentry Team", "url": "https://github.com/getsentry/sentry"},
        "isDeprecated": False,
        "isHidden": False,
        "description": "Integrates web hooks.",
        "features": ["alert-rule"],
        "featureDescriptions": [{"description": "Configure rule based outgoing HTTP POST requests from Sentry.",
                                 "featureGate": "alert-rule"}],
        "resourceLinks": [{"title": "Report Issue", "url": "https://github.com/getsentry/sentry/issues"},
                          {"title": "View Source",
                           "url": "https://github.com/getsentry/sentry/tree/master/src/sentry/plugins/"
                                  "sentry_webhooks"}],
    }
