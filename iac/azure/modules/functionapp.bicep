// One Tollway function app on its own Flex Consumption plan (a Flex plan hosts one app).
// Linux, Python 3.11, system-assigned identity; code is pulled from a blob container with
// that identity (no storage keys anywhere). See docs/azure-deploy.md.

@description('Function app name (globally unique: it is the *.azurewebsites.net host name).')
param name string

@description('Flex Consumption plan name.')
param planName string

param location string
param tags object

@description('Blob container URL holding this app\'s deployment package.')
param deploymentContainerUrl string

@description('Storage account used by the Functions host (AzureWebJobsStorage), by identity.')
param hostStorageAccountName string

@description('Memory per instance: 512, 2048 or 4096 MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Ceiling on instances for this app: keeps it from taking the region quota from the others.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Always-ready instances for the HTTP trigger group (0 = scale to zero, billed only while executing).')
@minValue(0)
param alwaysReadyHttp int = 0

@description('Concurrent HTTP requests per instance.')
@minValue(1)
@maxValue(1000)
param httpConcurrency int = 16

@description('Spread instances over availability zones (only in regions that support it for Flex Consumption).')
param zoneRedundant bool = false

@description('App settings as name/value pairs (Tollway settings, Key Vault references).')
param appSettings array

var alwaysReady = alwaysReadyHttp > 0 ? [
  {
    name: 'http'
    instanceCount: alwaysReadyHttp
  }
] : []

var hostSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: hostStorageAccountName
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  // checkov:skip=CKV_AZURE_225: zone redundancy is the zoneRedundant parameter (off by default: not offered for Flex Consumption in every region)
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  // checkov:skip=CKV_AZURE_222: the gateway is a public API and the portal calls management from browsers; access control is Tollway's (API keys, JWT, sessions)
  // checkov:skip=CKV_AZURE_17: client certificates would make browsers and API clients present a certificate; callers authenticate with API keys, JWTs and sessions
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales to zero by design; always-ready instances are a parameter (alwaysReadyHttp) because they bill around the clock
  // checkov:skip=CKV_AZURE_213: Flex Consumption does not support the App Service health check (healthCheckPath); Application Insights availability is the substitute
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReady
        triggers: {
          http: {
            perInstanceConcurrency: httpConcurrency
          }
        }
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(hostSettings, appSettings)
    }
  }
}

// No FTP and no basic-auth publishing: deployments authenticate with Entra ID (az CLI).
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output principalId string = site.identity.principalId
output defaultHostName string = site.properties.defaultHostName
