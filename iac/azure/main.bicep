// Tollway on Azure: three Python function apps on Flex Consumption (gateway, management,
// worker), Table Storage + a usage queue, Key Vault for the two secrets, Application
// Insights on a Log Analytics workspace, and a Static Web App for the developer portal.
// Deployed by `make deploy-azure`; checked by `make test` (parse gate + checkov).
// Operator guide, suppressions and costs: docs/azure-deploy.md.
//
// Keep this file within what pycep-parser 0.5.1 (checkov's Bicep parser) understands:
// no items()/lambda loops, no user-defined types, no safe-dereference operators.

targetScope = 'resourceGroup'

@description('Short lowercase name used in every resource name.')
@minLength(3)
@maxLength(10)
param namePrefix string = 'tollway'

@description('Environment name (dev, test, prod): a tag and part of the app names.')
@minLength(2)
@maxLength(8)
param stage string = 'dev'

@description('Region of everything except the Static Web App. Must offer Flex Consumption.')
param location string = resourceGroup().location

@description('Static Web Apps exist in a few regions only (westus2, centralus, eastus2, westeurope, eastasia).')
@allowed([
  'westus2'
  'centralus'
  'eastus2'
  'westeurope'
  'eastasia'
])
param portalLocation string = 'westeurope'

@description('Storage redundancy: ZRS keeps the table through a zone outage; GZRS/RAGZRS add a second region.')
@allowed([
  'Standard_ZRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
  'Standard_LRS'
])
param storageSku string = 'Standard_ZRS'

@description('Zone-redundant Flex Consumption plans (region-dependent; see docs/azure-deploy.md).')
param zoneRedundant bool = false

@description('Table holding the whole Tollway data model (TOLLWAY_TABLE).')
param tableName string = 'tollway'

@description('Queue of usage events from the gateway to the worker (TOLLWAY_USAGE_QUEUE).')
param usageQueueName string = 'usage'

@description('TOLLWAY_ADMIN_TOKEN (24+ characters). Empty: keep the value already in Key Vault.')
@secure()
param adminToken string = ''

@description('TOLLWAY_SESSION_KEYS: comma-separated, newest first, each 32+ characters. Empty: keep.')
@secure()
param sessionKeys string = ''

@description('TOLLWAY_JWT_ISSUERS (JSON list) for the gateway; empty for API keys only.')
param jwtIssuers string = ''

@description('TOLLWAY_CACHE_TTL: seconds a warm instance trusts a cached key/plan (bounds revocation latency).')
param cacheTtlSeconds string = '5'

@description('TOLLWAY_DEFAULT_FAIL_MODE for new plans that do not choose one.')
@allowed([
  'closed'
  'open'
])
param defaultFailMode string = 'closed'

@description('Gateway: instance ceiling, memory, always-ready instances, requests per instance.')
@minValue(1)
@maxValue(1000)
param gatewayMaxInstances int = 100
param gatewayInstanceMemoryMB int = 2048
@minValue(0)
param gatewayAlwaysReady int = 0
param gatewayHttpConcurrency int = 16

@description('Management API and worker ceilings: small, so they never take the gateway\'s share of the regional quota.')
@minValue(1)
@maxValue(1000)
param managementMaxInstances int = 10
@minValue(1)
@maxValue(1000)
param workerMaxInstances int = 10

@description('Send notices to developers (quota alerts, approval results, deprecation) by e-mail with an Azure Communication Services resource you created (docs/azure-deploy.md). false: notices go to the table\'s outbox only (GET /v1/admin/notifications/outbox).')
param acs bool = false

@description('With acs: the resource\'s endpoint, https://<name>.<geo>.communication.azure.com (TOLLWAY_ACS_ENDPOINT).')
param acsEndpoint string = ''

@description('With acs: the resource\'s access key (base64), written to Key Vault (TOLLWAY_ACS_KEY is a reference to it). Empty: keep the value already in Key Vault.')
@secure()
param acsAccessKey string = ''

@description('With acs: TOLLWAY_NOTIFY_FROM, a sender address of a domain linked to the resource (e.g. DoNotReply@<guid>.azurecomm.net).')
param notifyFrom string = ''

@description('OpenMeter\'s base URL for the hourly usage export (TOLLWAY_EXPORT_URL, e.g. https://openmeter.cloud; docs/billing.md, "Exporting usage"). Empty: no export.')
param exportUrl string = ''

@description('With exportUrl: the OpenMeter API token, written to Key Vault (TOLLWAY_EXPORT_TOKEN is a reference to it). Empty: keep the value already in Key Vault.')
@secure()
param exportToken string = ''

@description('With exportUrl: false for a self-hosted OpenMeter without auth (no token, no Key Vault reference).')
param exportAuth bool = true

@description('With exportUrl: the CloudEvents source of exported events (TOLLWAY_EXPORT_SOURCE); empty = tollway/<stage>. Never change it once exporting: event ids are per source.')
param exportSource string = ''

@description('Log Analytics retention (days) and daily ingestion cap in GB (-1: no cap).')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30
param logDailyCapGb int = -1

var suffix = uniqueString(resourceGroup().id)
var tags = {
  app: 'tollway'
  stage: stage
}
var storageName = take(replace(toLower('st${namePrefix}${suffix}'), '-', ''), 24)
var vaultName = take('kv-${namePrefix}-${suffix}', 24)
var appBase = '${namePrefix}-${stage}-${suffix}'
var gatewayName = '${appBase}-gw'
var managementName = '${appBase}-mgmt'
var workerName = '${appBase}-worker'
var adminSecretName = 'tollway-admin-token'
var sessionSecretName = 'tollway-session-keys'
var acsSecretName = 'tollway-acs-key'
var exportSecretName = 'tollway-export-token'
var exports = !empty(exportUrl)
var exportsWithToken = exports && exportAuth

// Built-in role definition ids.
var roleBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var roleTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var roleQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var roleQueueMessageSender = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
var roleKeyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var roleMonitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

// ---------------------------------------------------------------- storage -------------

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the apps run without VNet integration and reach storage over its public endpoint; every request is Entra ID-authenticated (shared keys off)
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35
  // checkov:skip=CKV_AZURE_206: the SKU is the storageSku parameter (default ZRS: synchronous copies in three zones); geo-redundancy (GZRS/RAGZRS) is one parameter away, and checkov does not evaluate parameters
  // checkov:skip=CKV_AZURE_43: the name is computed ('st' + namePrefix + uniqueString, lowercased, hyphens removed) and checkov cannot evaluate it
  name: storageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource table 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: tableName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource usageQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: usageQueueName
}

// The Functions queue trigger moves a message here after 5 failed attempts (host.json
// maxDequeueCount). Created up front so the worker's queue-scoped role covers it.
resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${usageQueueName}-poison'
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource gatewayPackages 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'deploy-gateway'
  properties: {
    publicAccess: 'None'
  }
}

resource managementPackages 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'deploy-management'
  properties: {
    publicAccess: 'None'
  }
}

resource workerPackages 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'deploy-worker'
  properties: {
    publicAccess: 'None'
  }
}

// ---------------------------------------------------------------- monitoring ----------

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${appBase}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
    workspaceCapping: {
      dailyQuotaGb: logDailyCapGb
    }
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${appBase}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

// ---------------------------------------------------------------- secrets -------------

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: Key Vault references are resolved over the vault's public endpoint (no VNet, and Flex outbound addresses are not fixed); access is RBAC-only, to one identity
  // checkov:skip=CKV_AZURE_189: same reason as CKV_AZURE_109
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Written only when a value is given (first deployment, or a rotation): an empty
// parameter leaves the current secret version alone.
resource adminSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(adminToken)) {
  // checkov:skip=CKV_AZURE_41: rotation is operator-driven (docs/azure-deploy.md); an expiry date would turn a missed rotation into an outage of the management API
  // checkov:skip=CKV_AZURE_114: contentType is set below; checkov does not see the properties of a conditional (if) resource
  parent: vault
  name: adminSecretName
  properties: {
    value: adminToken
    contentType: 'text/plain'
  }
}

resource sessionSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(sessionKeys)) {
  // checkov:skip=CKV_AZURE_41: rotation is operator-driven (newest key first, old key kept one session TTL); an expiry date would log every developer out
  // checkov:skip=CKV_AZURE_114: contentType is set below; checkov does not see the properties of a conditional (if) resource
  parent: vault
  name: sessionSecretName
  properties: {
    value: sessionKeys
    contentType: 'text/plain'
  }
}

// ---------------------------------------------------------------- notices (optional) ---
// The Communication Services access key lives in Key Vault; the management app and the
// worker read it through a Key Vault reference (TOLLWAY_ACS_KEY), never as a plain setting.
// Written only when a value is given, like the other secrets.

resource acsSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (acs && !empty(acsAccessKey)) {
  // checkov:skip=CKV_AZURE_41: the key is the Communication Services resource's own; rotate it there and redeploy with the new value; an expiry date would only stop the notices
  // checkov:skip=CKV_AZURE_114: contentType is set below; checkov does not see the properties of a conditional (if) resource
  parent: vault
  name: acsSecretName
  properties: {
    value: acsAccessKey
    contentType: 'text/plain'
  }
}

// The same secret whether this deployment wrote it or an earlier one did: the worker's
// role is scoped to it alone.
resource acsSecretRef 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: acsSecretName
}

// ---------------------------------------------------------------- usage export (optional)
// The OpenMeter token lives in Key Vault like the ACS key: the management app (the export
// route) and the worker (the hourly jobs timer) read it through a Key Vault reference
// (TOLLWAY_EXPORT_TOKEN). Written only when a value is given.

resource exportSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (exportsWithToken && !empty(exportToken)) {
  // checkov:skip=CKV_AZURE_41: the token is OpenMeter's own; rotate it there and redeploy with the new value; an expiry date would only stop the export
  // checkov:skip=CKV_AZURE_114: contentType is set below; checkov does not see the properties of a conditional (if) resource
  parent: vault
  name: exportSecretName
  properties: {
    value: exportToken
    contentType: 'text/plain'
  }
}

// The worker's role is scoped to this one secret, whichever deployment wrote it.
resource exportSecretRef 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: exportSecretName
}

// ---------------------------------------------------------------- portal --------------

resource portal 'Microsoft.Web/staticSites@2023-12-01' = {
  name: 'swa-${appBase}'
  location: portalLocation
  tags: tags
  sku: {
    name: 'Free'
    tier: 'Free'
  }
  properties: {
    allowConfigFileUpdates: true
    stagingEnvironmentPolicy: 'Disabled'
  }
}

// ---------------------------------------------------------------- function apps -------

var portalOrigin = 'https://${portal.properties.defaultHostname}'
var blobEndpoint = storage.properties.primaryEndpoints.blob
var tableEndpoint = storage.properties.primaryEndpoints.table
var queueEndpoint = storage.properties.primaryEndpoints.queue

// Settings every app reads (shared/settings.py). Endpoints without the trailing slash.
var commonSettings = [
  {
    name: 'TOLLWAY_STORE'
    value: 'azure'
  }
  {
    name: 'TOLLWAY_TABLE'
    value: tableName
  }
  {
    name: 'TOLLWAY_AZURE_TABLE_ENDPOINT'
    value: take(tableEndpoint, length(tableEndpoint) - 1)
  }
  {
    name: 'TOLLWAY_AZURE_QUEUE_ENDPOINT'
    value: take(queueEndpoint, length(queueEndpoint) - 1)
  }
  {
    name: 'TOLLWAY_USAGE_QUEUE'
    value: usageQueueName
  }
  {
    name: 'TOLLWAY_CACHE_TTL'
    value: cacheTtlSeconds
  }
  {
    name: 'TOLLWAY_DEFAULT_FAIL_MODE'
    value: defaultFailMode
  }
  {
    name: 'TOLLWAY_CORS_ORIGINS'
    value: portalOrigin
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: insights.properties.ConnectionString
  }
  {
    // Local auth is off on the component: telemetry is sent with the app's identity.
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'Authorization=AAD'
  }
]

var jwtSettings = empty(jwtIssuers) ? [] : [
  {
    name: 'TOLLWAY_JWT_ISSUERS'
    value: jwtIssuers
  }
]

var secretSettings = [
  {
    name: 'TOLLWAY_ADMIN_TOKEN'
    value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${adminSecretName})'
  }
  {
    name: 'TOLLWAY_SESSION_KEYS'
    value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${sessionSecretName})'
  }
]

// The notifier (shared/settings.py) of the management app and the worker's jobs.
var notifierSettings = acs ? [
  {
    name: 'TOLLWAY_NOTIFIER'
    value: 'acs'
  }
  {
    name: 'TOLLWAY_NOTIFY_FROM'
    value: notifyFrom
  }
  {
    name: 'TOLLWAY_ACS_ENDPOINT'
    value: acsEndpoint
  }
  {
    name: 'TOLLWAY_ACS_KEY'
    value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${acsSecretName})'
  }
] : [
  {
    name: 'TOLLWAY_NOTIFIER'
    value: 'outbox'
  }
]

// The usage export (shared/settings.py) of the management app and the worker's jobs.
var exportSettings = !exports ? [] : concat([
  {
    name: 'TOLLWAY_EXPORT_URL'
    value: exportUrl
  }
  {
    name: 'TOLLWAY_EXPORT_SOURCE'
    value: empty(exportSource) ? 'tollway/${stage}' : exportSource
  }
], !exportAuth ? [] : [
  {
    name: 'TOLLWAY_EXPORT_TOKEN'
    value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${exportSecretName})'
  }
])

// The queue trigger's connection "UsageQueue", by identity.
var workerSettings = [
  {
    name: 'UsageQueue__queueServiceUri'
    value: take(queueEndpoint, length(queueEndpoint) - 1)
  }
]

module gateway 'modules/functionapp.bicep' = {
  name: 'gateway-app'
  params: {
    name: gatewayName
    planName: 'plan-${gatewayName}'
    location: location
    tags: union(tags, {
      component: 'gateway'
    })
    deploymentContainerUrl: '${blobEndpoint}${gatewayPackages.name}'
    hostStorageAccountName: storage.name
    zoneRedundant: zoneRedundant
    instanceMemoryMB: gatewayInstanceMemoryMB
    maximumInstanceCount: gatewayMaxInstances
    alwaysReadyHttp: gatewayAlwaysReady
    httpConcurrency: gatewayHttpConcurrency
    appSettings: concat(commonSettings, jwtSettings)
  }
}

module management 'modules/functionapp.bicep' = {
  name: 'management-app'
  params: {
    name: managementName
    planName: 'plan-${managementName}'
    location: location
    tags: union(tags, {
      component: 'management'
    })
    deploymentContainerUrl: '${blobEndpoint}${managementPackages.name}'
    hostStorageAccountName: storage.name
    zoneRedundant: zoneRedundant
    instanceMemoryMB: 2048
    maximumInstanceCount: managementMaxInstances
    appSettings: concat(commonSettings, jwtSettings, secretSettings, notifierSettings, exportSettings)
  }
}

module worker 'modules/functionapp.bicep' = {
  name: 'worker-app'
  params: {
    name: workerName
    planName: 'plan-${workerName}'
    location: location
    tags: union(tags, {
      component: 'worker'
    })
    deploymentContainerUrl: '${blobEndpoint}${workerPackages.name}'
    hostStorageAccountName: storage.name
    zoneRedundant: zoneRedundant
    instanceMemoryMB: 2048
    maximumInstanceCount: workerMaxInstances
    appSettings: concat(commonSettings, workerSettings, notifierSettings, exportSettings)
  }
}

// ---------------------------------------------------------------- role assignments ----
// Each app's identity gets only what it uses, at the narrowest scope Azure offers:
//   all three:  Storage Blob Data Owner on the account (Functions host storage + its package)
//               Monitoring Metrics Publisher on Application Insights (Entra-auth telemetry)
//   gateway:    Table Data Contributor on the table; Queue Data Message Sender on the usage queue
//   management: Table Data Contributor on the table; Key Vault Secrets User on the vault
//   worker:     Table Data Contributor on the table; Queue Data Contributor on usage + poison;
//               with acs, Key Vault Secrets User on the ACS key secret only;
//               with an export token, Key Vault Secrets User on that secret only

resource gatewayBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, gatewayName, roleBlobDataOwner)
  scope: storage
  properties: {
    principalId: gateway.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleBlobDataOwner)
  }
}

resource managementBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, managementName, roleBlobDataOwner)
  scope: storage
  properties: {
    principalId: management.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleBlobDataOwner)
  }
}

resource workerBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, workerName, roleBlobDataOwner)
  scope: storage
  properties: {
    principalId: worker.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleBlobDataOwner)
  }
}

resource gatewayTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(table.id, gatewayName, roleTableDataContributor)
  scope: table
  properties: {
    principalId: gateway.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleTableDataContributor)
  }
}

resource managementTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(table.id, managementName, roleTableDataContributor)
  scope: table
  properties: {
    principalId: management.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleTableDataContributor)
  }
}

resource workerTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(table.id, workerName, roleTableDataContributor)
  scope: table
  properties: {
    principalId: worker.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleTableDataContributor)
  }
}

resource gatewayQueueSend 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(usageQueue.id, gatewayName, roleQueueMessageSender)
  scope: usageQueue
  properties: {
    principalId: gateway.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleQueueMessageSender)
  }
}

resource workerQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(usageQueue.id, workerName, roleQueueDataContributor)
  scope: usageQueue
  properties: {
    principalId: worker.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleQueueDataContributor)
  }
}

resource workerPoisonQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(poisonQueue.id, workerName, roleQueueDataContributor)
  scope: poisonQueue
  properties: {
    principalId: worker.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleQueueDataContributor)
  }
}

resource managementSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, managementName, roleKeyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: management.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleKeyVaultSecretsUser)
  }
}

resource workerAcsSecret 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (acs) {
  name: guid(vault.id, acsSecretName, workerName, roleKeyVaultSecretsUser)
  scope: acsSecretRef
  dependsOn: [
    acsSecret
  ]
  properties: {
    principalId: worker.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleKeyVaultSecretsUser)
  }
}

resource workerExportSecret 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (exportsWithToken) {
  name: guid(vault.id, exportSecretName, workerName, roleKeyVaultSecretsUser)
  scope: exportSecretRef
  dependsOn: [
    exportSecret
  ]
  properties: {
    principalId: worker.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleKeyVaultSecretsUser)
  }
}

resource gatewayTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, gatewayName, roleMonitoringMetricsPublisher)
  scope: insights
  properties: {
    principalId: gateway.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleMonitoringMetricsPublisher)
  }
}

resource managementTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, managementName, roleMonitoringMetricsPublisher)
  scope: insights
  properties: {
    principalId: management.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleMonitoringMetricsPublisher)
  }
}

resource workerTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, workerName, roleMonitoringMetricsPublisher)
  scope: insights
  properties: {
    principalId: worker.outputs.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleMonitoringMetricsPublisher)
  }
}

// ---------------------------------------------------------------- outputs -------------

output gatewayUrl string = 'https://${gateway.outputs.defaultHostName}'
output managementUrl string = 'https://${management.outputs.defaultHostName}'
output portalUrl string = portalOrigin
output portalName string = portal.name
output gatewayAppName string = gateway.outputs.name
output managementAppName string = management.outputs.name
output workerAppName string = worker.outputs.name
output storageAccountName string = storage.name
output tableName string = table.name
output queueName string = usageQueue.name
output poisonQueueName string = poisonQueue.name
output keyVaultName string = vault.name
output appInsightsName string = insights.name
output notifier string = acs ? 'acs' : 'outbox'
output usageExport string = exports ? exportUrl : 'off'

