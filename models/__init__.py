"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""
from models.base import utcnow
from models.user import Role, User
from models.api_token import ApiToken
from models.audit import AuditRecord
from models.job import Job, JobState
from models.setting import AppSetting
from models.reference import Account, Instrument, Strategy, Venue
from models.orders import Fill, Order, Position
from models.market import Bar, Quote
from models.engine import (ControlAction, EngineControl, EngineEvent, EngineState, KillSwitch, PnlSnapshot,
                           RiskDecision, Signal)
from models.risk import LimitBreach, RiskLimit
from models.reports import ReportRun, ReportSchedule
from models.preferences import UserPreference
from models.alerts import (AlertEvent, AlertInstance, AlertRule, ContactPoint, Incident, IncidentEntry,
                           InhibitionRule, Notification, NotificationGroup, NotificationPolicy, Silence,
                           TimeInterval)
from models.model_ops import MlAliasHistory, MlModel, MlModelAlias, MlModelVersion, MlShadowSignal
from models.ops import ServiceHeartbeat, SloSample, TaskRun
from models.runbooks import RunbookRun
from models.governance import (ApprovalRequest, AuditReview, LoginEvent, MfaEnrolment, MfaRecoveryCode,
                               UserSession)
from models.retention import LegalHold, LegalHoldItem, RetentionPolicy, RetentionRun, SubjectKey

__all__ = [
    "utcnow", "Role", "User", "ApiToken", "AuditRecord", "Job", "JobState", "AppSetting",
    "Account", "Instrument", "Strategy", "Venue", "Fill", "Order", "Position", "Bar", "Quote",
    "ControlAction", "EngineControl", "EngineEvent", "EngineState", "KillSwitch", "PnlSnapshot", "RiskDecision",
    "Signal", "LimitBreach", "RiskLimit", "ReportRun", "ReportSchedule", "UserPreference",
    "AlertEvent", "AlertInstance", "AlertRule", "ContactPoint", "Incident", "IncidentEntry", "InhibitionRule",
    "Notification", "NotificationGroup", "NotificationPolicy", "Silence", "TimeInterval",
    "ServiceHeartbeat", "SloSample", "TaskRun", "RunbookRun",
    "MlAliasHistory", "MlModel", "MlModelAlias", "MlModelVersion", "MlShadowSignal",
    "ApprovalRequest", "AuditReview", "LoginEvent", "MfaEnrolment", "MfaRecoveryCode", "UserSession",
    "LegalHold", "LegalHoldItem", "RetentionPolicy", "RetentionRun", "SubjectKey",
]
